/* SPDX-License-Identifier: Apache-2.0 */
/* What the store's files share among themselves: the connection, keys and SQL helpers. */
#pragma once

#include <sqlite3.h>

#include "base/buf.h"
#include "crypto/aead.h"
#include "store.h"

struct veil_cas_store {
    sqlite3 *db;
    struct veil_aead *aead;          /* blobs: policy texts and secret material */
    struct veil_secbuf *audit_key;   /* HMAC key of the audit chain */
};

/* Translate a SQLite result code (the only place that does). */
int veil_cas_sql_err(struct veil_cas_store *s, int rc, const char *what);
int veil_cas_sql_exec(struct veil_cas_store *s, const char *sql) _warn_unused_;
int veil_cas_sql_prepare(struct veil_cas_store *s, const char *sql, sqlite3_stmt **ret) _warn_unused_;
int veil_cas_store_begin(struct veil_cas_store *s) _warn_unused_;
int veil_cas_store_commit(struct veil_cas_store *s) _warn_unused_;
void veil_cas_store_rollback(struct veil_cas_store *s);

int veil_cas_blob_seal(struct veil_cas_store *s, const void *aad, size_t aad_size, const void *plain, size_t size,
                       uint8_t **ret, size_t *ret_size) _warn_unused_;
int veil_cas_blob_open(struct veil_cas_store *s, const void *aad, size_t aad_size, const uint8_t *blob,
                       size_t blob_size, struct veil_secbuf **ret) _warn_unused_;

/*
 * Run fn inside a write transaction shared with other threads' concurrent writes (group
 * commit, commit.c) and return its result once that transaction has committed. fn gets the
 * connection of whichever thread runs the batch, runs inside its own SAVEPOINT, and must not
 * begin or commit itself.
 */
typedef int (*veil_cas_write_fn)(struct veil_cas_store *s, void *arg);
int veil_cas_store_write(struct veil_cas_store *s, veil_cas_write_fn fn, void *arg) _warn_unused_;

/* Stored secret material (and its definition hash), and its replacement (inside a transaction). */
struct veil_cas_secret;
int veil_cas_secret_load(struct veil_cas_store *s, const char *policy, const char *name, uint8_t *ret_definition,
                         struct veil_secbuf **ret) _warn_unused_;
int veil_cas_secret_save(struct veil_cas_store *s, const char *policy, const struct veil_cas_secret *def,
                         const struct veil_secbuf *material) _warn_unused_;

/* Append an audit entry inside the caller's transaction. */
int veil_cas_audit_append(struct veil_cas_store *s, const char *kind, const char *policy, const char *subject,
                          const char *detail) _warn_unused_;

/* Append s as a JSON string literal (quoted, escaped). */
int veil_cas_json_escape(struct veil_buf *b, const char *s) _warn_unused_;
