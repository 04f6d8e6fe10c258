/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite state of veil-cas: schema, encrypted blobs, policy versions, secrets and volume versions. */
#include "store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "policy.h"
#include "secret.h"
#include "store-internal.h"

VEIL_DEFINE_CLEANUP(sqlite3_stmt *, sqlite3_finalize, stmt_freep)
#define _cleanup_stmt_ _cleanup_(stmt_freep)

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS policies(name TEXT NOT NULL, version INTEGER NOT NULL, hash BLOB NOT NULL,"
    " previous BLOB, applied_by BLOB NOT NULL, time INTEGER NOT NULL, body BLOB NOT NULL,"
    " PRIMARY KEY(name, version));"
    "CREATE TABLE IF NOT EXISTS secrets(policy TEXT NOT NULL, name TEXT NOT NULL, definition BLOB NOT NULL,"
    " body BLOB NOT NULL, PRIMARY KEY(policy, name));"
    "CREATE TABLE IF NOT EXISTS volumes(policy TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY(policy, name));"
    "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
    " policy TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, hash BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_policy ON audit(policy, seq);"
    /* append-only: a bug in this program cannot rewrite history; a hand edit is caught by verify */
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;";

int veil_cas_sql_err(struct veil_cas_store *s, int rc, const char *what) {
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return veil_err(-EBUSY, "%s: database busy", what);
    if (rc == SQLITE_NOMEM) return -ENOMEM;
    return veil_err(-EIO, "%s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int veil_cas_sql_exec(struct veil_cas_store *s, const char *sql) {
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : veil_cas_sql_err(s, rc, sql);
}

int veil_cas_sql_prepare(struct veil_cas_store *s, const char *sql, sqlite3_stmt **ret) {
    int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);
    return rc == SQLITE_OK ? 0 : veil_cas_sql_err(s, rc, "prepare");
}

/*
 * SQLite allows one writer at a time. Writers of this process queue on a mutex instead of
 * SQLite's busy handler, which sleeps in growing steps (1, 2, 5, ... 100 ms) and turns
 * contention into latency. Only the short write transaction is inside: TLS, evidence
 * verification and rendering of every request run in parallel on their own threads.
 */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

int veil_cas_store_begin(struct veil_cas_store *s) {
    pthread_mutex_lock(&write_lock);
    /* IMMEDIATE: take the write lock now, so a transaction never fails half-way on an upgrade */
    int r = veil_cas_sql_exec(s, "BEGIN IMMEDIATE");
    if (r < 0) pthread_mutex_unlock(&write_lock);
    return r;
}

/* On failure the transaction is still open: the caller rolls back (which releases the lock). */
int veil_cas_store_commit(struct veil_cas_store *s) {
    int r = veil_cas_sql_exec(s, "COMMIT");
    if (r >= 0) pthread_mutex_unlock(&write_lock);
    return r;
}

void veil_cas_store_rollback(struct veil_cas_store *s) {
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&write_lock);
}

int veil_cas_store_open(const char *db_path, const struct veil_secbuf *master, struct veil_cas_store **ret) {
    if (master->size != VEIL_CAS_MASTER_KEY_SIZE) return -EINVAL;
    /* create the file owner-only: SQLite gives the -wal and -shm files the database's permissions */
    int fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return veil_err(-errno, "cannot open %s", db_path);
    close(fd);
    struct veil_cas_store *s = calloc(1, sizeof(*s));
    if (!s) return -ENOMEM;
    int r;
    int rc = sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = veil_cas_sql_err(s, rc, "opening the database");
        goto fail;
    }
    /* writers wait for each other instead of failing; each write transaction is short */
    sqlite3_busy_timeout(s->db, 10000);
    if ((r = veil_cas_sql_exec(s, "PRAGMA journal_mode=WAL")) < 0 ||
        (r = veil_cas_sql_exec(s, "PRAGMA synchronous=FULL")) < 0 ||
        (r = veil_cas_sql_exec(s, "PRAGMA foreign_keys=ON")) < 0 || (r = veil_cas_sql_exec(s, schema)) < 0)
        goto fail;
    /* Separate keys per purpose, so that a blob key can never check an audit entry and vice versa. */
    uint8_t key[32];
    if ((r = veil_secbuf_new(32, &s->audit_key)) < 0) goto fail;
    if ((r = veil_hkdf_sha256(master->data, master->size, "veil-cas", 8, "audit-hmac-v1", 13, s->audit_key->data,
                              32)) < 0 ||
        (r = veil_hkdf_sha256(master->data, master->size, "veil-cas", 8, "blob-aead-v1", 12, key, sizeof(key))) < 0)
        goto fail;
    r = veil_aead_new(key, &s->aead);
    veil_wipe(key, sizeof(key));
    if (r < 0) goto fail;
    *ret = s;
    return 0;
fail:
    veil_cas_store_close(s);
    return r;
}

void veil_cas_store_close(struct veil_cas_store *s) {
    if (!s) return;
    if (s->db) sqlite3_close_v2(s->db);
    veil_aead_free(s->aead);
    veil_secbuf_free(s->audit_key);
    free(s);
}

/* ---------- encrypted blobs: iv(12) || ciphertext || tag(16), AAD names the row ---------- */

int veil_cas_blob_seal(struct veil_cas_store *s, const void *aad, size_t aad_size, const void *plain, size_t size,
                       uint8_t **ret, size_t *ret_size) {
    size_t total = VEIL_GCM_IV_SIZE + size + VEIL_GCM_TAG_SIZE;
    uint8_t *out = malloc(total);
    if (!out) return -ENOMEM;
    int r = veil_random(out, VEIL_GCM_IV_SIZE);
    if (r >= 0)
        r = veil_aead_seal(s->aead, out, aad, aad_size, plain, size, out + VEIL_GCM_IV_SIZE,
                           out + VEIL_GCM_IV_SIZE + size);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_size = total;
    return 0;
}

int veil_cas_blob_open(struct veil_cas_store *s, const void *aad, size_t aad_size, const uint8_t *blob,
                       size_t blob_size, struct veil_secbuf **ret) {
    if (blob_size < VEIL_GCM_IV_SIZE + VEIL_GCM_TAG_SIZE) return veil_err(-EBADMSG, "stored blob too short");
    size_t size = blob_size - VEIL_GCM_IV_SIZE - VEIL_GCM_TAG_SIZE;
    _cleanup_secbuf_ struct veil_secbuf *out = NULL;
    int r = veil_secbuf_new(size, &out);
    if (r < 0) return r;
    if ((r = veil_aead_open(s->aead, blob, aad, aad_size, blob + VEIL_GCM_IV_SIZE, size, out->data,
                            blob + VEIL_GCM_IV_SIZE + size)) < 0)
        return veil_err(-EACCES, "stored blob failed authentication (wrong master key or tampered database)");
    *ret = TAKE_PTR(out);
    return 0;
}

/* AAD: "kind\0policy\0name\0" — binds a ciphertext to its row so rows cannot be swapped. */
static int row_aad(const char *kind, const char *policy, const char *name, struct veil_buf *b) {
    b->limit = 1024;
    int r = veil_buf_append(b, kind, strlen(kind) + 1);
    if (r >= 0) r = veil_buf_append(b, policy, strlen(policy) + 1);
    if (r >= 0) r = veil_buf_append(b, name, strlen(name) + 1);
    return r;
}

/* ---------- policies ---------- */

void veil_cas_policy_version_done(struct veil_cas_policy_version *v) {
    if (v->yaml) veil_wipe(v->yaml, v->yaml_size);
    free(v->yaml);
    *v = (struct veil_cas_policy_version){ 0 };
}

static int read_version_row(struct veil_cas_store *s, const char *name, sqlite3_stmt *st,
                            struct veil_cas_policy_version *ret) {
    struct veil_cas_policy_version v = { 0 };
    v.version = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) != VEIL_SHA256_SIZE || sqlite3_column_bytes(st, 3) != VEIL_SHA256_SIZE)
        return veil_err(-EBADMSG, "corrupt policy row");
    memcpy(v.hash, sqlite3_column_blob(st, 1), VEIL_SHA256_SIZE);
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        if (sqlite3_column_bytes(st, 2) != VEIL_SHA256_SIZE) return veil_err(-EBADMSG, "corrupt policy row");
        memcpy(v.previous, sqlite3_column_blob(st, 2), VEIL_SHA256_SIZE);
        v.has_previous = true;
    }
    memcpy(v.applied_by, sqlite3_column_blob(st, 3), VEIL_SHA256_SIZE);
    v.time = sqlite3_column_int64(st, 4);
    struct veil_buf aad = { 0 };
    char version[24];
    snprintf(version, sizeof(version), "%lld", (long long)v.version);
    int r = row_aad("policy", name, version, &aad);
    _cleanup_secbuf_ struct veil_secbuf *plain = NULL;
    if (r >= 0)
        r = veil_cas_blob_open(s, aad.data, aad.size, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
                               &plain);
    veil_buf_done(&aad);
    if (r < 0) return r;
    /* the stored hash must be the hash of the text: a row cannot claim another version's identity */
    uint8_t h[VEIL_SHA256_SIZE];
    if ((r = veil_sha256(plain->data, plain->size, h)) < 0) return r;
    if (!veil_memeq_ct(h, v.hash, sizeof(h))) return veil_err(-EACCES, "policy '%s' text does not match its hash", name);
    v.yaml = malloc(plain->size + 1);
    if (!v.yaml) return -ENOMEM;
    memcpy(v.yaml, plain->data, plain->size);
    v.yaml[plain->size] = 0;
    v.yaml_size = plain->size;
    *ret = v;
    return 0;
}

#define VERSION_COLUMNS "version, hash, previous, applied_by, time, body"

int veil_cas_store_policy_get(struct veil_cas_store *s, const char *name, int64_t version,
                              struct veil_cas_policy_version *ret) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(
        s,
        version > 0 ? "SELECT " VERSION_COLUMNS " FROM policies WHERE name=?1 AND version=?2"
                    : "SELECT " VERSION_COLUMNS " FROM policies WHERE name=?1 ORDER BY version DESC LIMIT 1",
        &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version > 0) sqlite3_bind_int64(st, 2, version);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return veil_err(-ENOENT, "no policy '%s'%s", name, version > 0 ? " at that version" : "");
    if (rc != SQLITE_ROW) return veil_cas_sql_err(s, rc, "reading policy");
    return read_version_row(s, name, st, ret);
}

int veil_cas_store_policy_current(struct veil_cas_store *s, const char *name, struct veil_cas_policy_version *ret) {
    return veil_cas_store_policy_get(s, name, 0, ret);
}

int veil_cas_store_policy_current_hash(struct veil_cas_store *s, const char *name, uint8_t ret[VEIL_SHA256_SIZE]) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT hash FROM policies WHERE name=?1 ORDER BY version DESC LIMIT 1", &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return veil_err(-ENOENT, "no policy '%s'", name);
    if (rc != SQLITE_ROW) return veil_cas_sql_err(s, rc, "reading policy");
    if (sqlite3_column_bytes(st, 0) != VEIL_SHA256_SIZE) return veil_err(-EBADMSG, "corrupt policy row");
    memcpy(ret, sqlite3_column_blob(st, 0), VEIL_SHA256_SIZE);
    return 0;
}

int veil_cas_store_policy_history(struct veil_cas_store *s, const char *name, struct veil_cas_policy_version **ret,
                                  size_t *ret_count) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT " VERSION_COLUMNS " FROM policies WHERE name=?1 ORDER BY version DESC LIMIT 1000",
                                 &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    struct veil_cas_policy_version *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct veil_cas_policy_version *n = realloc(list, (count + 1) * sizeof(*list));
        if (!n) {
            r = -ENOMEM;
            break;
        }
        list = n;
        if ((r = read_version_row(s, name, st, &list[count])) < 0) break;
        count++;
    }
    if (r >= 0 && rc != SQLITE_DONE) r = veil_cas_sql_err(s, rc, "reading history");
    if (r >= 0 && count == 0) r = veil_err(-ENOENT, "no policy '%s'", name);
    if (r < 0) {
        for (size_t i = 0; i < count; i++) veil_cas_policy_version_done(&list[i]);
        free(list);
        return r;
    }
    *ret = list;
    *ret_count = count;
    return 0;
}

/* ---------- secrets ---------- */

int veil_cas_secret_load(struct veil_cas_store *s, const char *policy, const char *name, uint8_t *ret_definition,
                       struct veil_secbuf **ret) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT definition, body FROM secrets WHERE policy=?1 AND name=?2", &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return veil_err(-ENOENT, "no secret '%s' in policy '%s'", name, policy);
    if (rc != SQLITE_ROW) return veil_cas_sql_err(s, rc, "reading secret");
    if (sqlite3_column_bytes(st, 0) != VEIL_SHA256_SIZE) return veil_err(-EBADMSG, "corrupt secret row");
    struct veil_buf aad = { 0 };
    r = row_aad("secret", policy, name, &aad);
    /* the definition hash is authenticated too: a changed definition cannot keep old material */
    if (r >= 0) r = veil_buf_append(&aad, sqlite3_column_blob(st, 0), VEIL_SHA256_SIZE);
    if (r >= 0)
        r = veil_cas_blob_open(s, aad.data, aad.size, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), ret);
    if (r >= 0 && ret_definition) memcpy(ret_definition, sqlite3_column_blob(st, 0), VEIL_SHA256_SIZE);
    veil_buf_done(&aad);
    return r;
}

int veil_cas_store_secret_get(struct veil_cas_store *s, const char *policy, const char *name, struct veil_secbuf **ret) {
    return veil_cas_secret_load(s, policy, name, NULL, ret);
}

int veil_cas_secret_save(struct veil_cas_store *s, const char *policy, const struct veil_cas_secret *def,
                       const struct veil_secbuf *material) {
    struct veil_buf aad = { 0 };
    int r = row_aad("secret", policy, def->name, &aad);
    if (r >= 0) r = veil_buf_append(&aad, def->definition_hash, VEIL_SHA256_SIZE);
    _cleanup_free_ uint8_t *blob = NULL;
    size_t blob_size;
    if (r >= 0) r = veil_cas_blob_seal(s, aad.data, aad.size, material->data, material->size, &blob, &blob_size);
    veil_buf_done(&aad);
    if (r < 0) return r;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if ((r = veil_cas_sql_prepare(s, "INSERT OR REPLACE INTO secrets(policy, name, definition, body) VALUES(?1,?2,?3,?4)",
                                  &st)) < 0)
        return r;
    sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, def->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, def->definition_hash, VEIL_SHA256_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, blob, (int)blob_size, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : veil_cas_sql_err(s, rc, "saving secret");
}

/* Keep unchanged secrets, generate new or changed ones (CAs before the leaves they issue), drop removed ones. */
static int secrets_sync(struct veil_cas_store *s, const struct veil_cas_policy *p, struct veil_buf *names_json) {
    int r;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->secret_count; i++) {
            const struct veil_cas_secret *def = &p->secrets[i];
            if ((def->kind == VEIL_CAS_SECRET_X509) != (pass == 1)) continue;
            uint8_t stored_def[VEIL_SHA256_SIZE];
            _cleanup_secbuf_ struct veil_secbuf *old = NULL;
            r = veil_cas_secret_load(s, p->name, def->name, stored_def, &old);
            if (r >= 0 && !memcmp(stored_def, def->definition_hash, VEIL_SHA256_SIZE)) continue;
            if (r < 0 && r != -ENOENT) return r;
            _cleanup_secbuf_ struct veil_secbuf *issuer = NULL, *material = NULL;
            if (def->kind == VEIL_CAS_SECRET_X509 && (r = veil_cas_secret_load(s, p->name, def->issuer, NULL, &issuer)) < 0)
                return r;
            if ((r = veil_cas_secret_generate(def, issuer, &material)) < 0) return r;
            if ((r = veil_cas_secret_save(s, p->name, def, material)) < 0) return r;
            if ((r = veil_buf_printf(names_json, "%s\"%s\"", names_json->size > 1 ? "," : "", def->name)) < 0) return r;
        }
    }
    /* removed secrets go: nothing can reference them any more */
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if ((r = veil_cas_sql_prepare(s, "SELECT name FROM secrets WHERE policy=?1", &st)) < 0) return r;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    char *gone[VEIL_CAS_MAX_SECRETS + 1];
    size_t gone_count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && gone_count < ELEMENTSOF(gone)) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && !veil_cas_policy_secret(p, name)) gone[gone_count++] = strdup(name);
    }
    sqlite3_finalize(TAKE_PTR(st));
    r = 0;
    for (size_t i = 0; i < gone_count; i++) {
        if (r >= 0 && gone[i]) {
            if ((r = veil_cas_sql_prepare(s, "DELETE FROM secrets WHERE policy=?1 AND name=?2", &st)) >= 0) {
                sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, gone[i], -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                if (rc != SQLITE_DONE) r = veil_cas_sql_err(s, rc, "removing secret");
                sqlite3_finalize(TAKE_PTR(st));
            }
        }
        free(gone[i]);
    }
    return r;
}

static void hex32(const uint8_t *d, char out[65]) {
    veil_hex_encode(d, 32, out);
}

/* The first of the client's identities that the policy lists as an owner, or NULL. */
static const uint8_t *owner_among(const struct veil_cas_policy *p, const uint8_t (*ids)[VEIL_SHA256_SIZE], size_t count) {
    for (size_t i = 0; i < count; i++)
        if (veil_cas_policy_is_owner(p, ids[i])) return ids[i];
    return NULL;
}

static int apply_locked(struct veil_cas_store *s, const struct veil_cas_policy *p, const char *yaml, size_t yaml_size,
                        const uint8_t (*ids)[VEIL_SHA256_SIZE], size_t id_count, const uint8_t *replaces,
                        const uint8_t hash[32], int64_t *ret_version) {
    const uint8_t *client = NULL;
    struct veil_cas_policy_version cur = { 0 };
    int r = veil_cas_store_policy_current(s, p->name, &cur);
    if (r < 0 && r != -ENOENT) return r;
    int64_t version = 1;
    if (r >= 0) {
        _cleanup_(veil_cas_policy_freep) struct veil_cas_policy *old = NULL;
        r = veil_cas_policy_parse(cur.yaml, cur.yaml_size, &old);
        if (r >= 0 && !(client = owner_among(old, ids, id_count)))
            r = veil_err(-EPERM, "client is not an owner of policy '%s'", p->name);
        else if (r >= 0 && (!replaces || memcmp(replaces, cur.hash, VEIL_SHA256_SIZE))) {
            char h[65];
            hex32(cur.hash, h);
            r = veil_err(-ESTALE, "update must name the current version's hash %s as the one it replaces", h);
        }
        version = cur.version + 1;
        veil_cas_policy_version_done(&cur);
        if (r < 0) return r;
    } else {
        if (replaces) return veil_err(-ESTALE, "policy '%s' does not exist, so there is nothing to replace", p->name);
        if (!(client = owner_among(p, ids, id_count)))
            return veil_err(-EPERM, "the client creating policy '%s' must be one of its owners", p->name);
    }
    struct veil_buf generated = { .limit = 64 * 1024 };
    if ((r = veil_buf_printf(&generated, "[")) < 0 || (r = secrets_sync(s, p, &generated)) < 0 ||
        (r = veil_buf_printf(&generated, "]")) < 0) {
        veil_buf_done(&generated);
        return r;
    }
    /* volumes start at version 0; an existing volume keeps its version across policy updates */
    for (size_t i = 0; i < p->volume_count && r >= 0; i++) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = veil_cas_sql_prepare(s, "INSERT OR IGNORE INTO volumes(policy, name, version) VALUES(?1,?2,0)", &st)) < 0)
            break;
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p->volumes[i].name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) r = veil_cas_sql_err(s, rc, "adding volume");
    }
    char version_text[24];
    snprintf(version_text, sizeof(version_text), "%lld", (long long)version);
    struct veil_buf aad = { 0 };
    _cleanup_free_ uint8_t *blob = NULL;
    size_t blob_size = 0;
    if (r >= 0) r = row_aad("policy", p->name, version_text, &aad);
    if (r >= 0) r = veil_cas_blob_seal(s, aad.data, aad.size, yaml, yaml_size, &blob, &blob_size);
    veil_buf_done(&aad);
    if (r >= 0) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = veil_cas_sql_prepare(s,
                                      "INSERT INTO policies(name, version, hash, previous, applied_by, time, body)"
                                      " VALUES(?1,?2,?3,?4,?5,?6,?7)",
                                      &st)) >= 0) {
            sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, version);
            sqlite3_bind_blob(st, 3, hash, VEIL_SHA256_SIZE, SQLITE_STATIC);
            if (replaces) sqlite3_bind_blob(st, 4, replaces, VEIL_SHA256_SIZE, SQLITE_STATIC);
            sqlite3_bind_blob(st, 5, client, VEIL_SHA256_SIZE, SQLITE_STATIC);
            sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
            sqlite3_bind_blob(st, 7, blob, (int)blob_size, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE) r = veil_cas_sql_err(s, rc, "saving policy");
        }
    }
    if (r >= 0) {
        char h[65], c[65];
        hex32(hash, h);
        hex32(client, c);
        struct veil_buf detail = { .limit = 80 * 1024 };
        r = veil_buf_printf(&detail, "{\"version\":%lld,\"hash\":\"%s\",\"generated\":%s}", (long long)version, h,
                            (const char *)generated.data);
        if (r >= 0) r = veil_cas_audit_append(s, "policy.applied", p->name, c, (const char *)detail.data);
        veil_buf_done(&detail);
    }
    veil_buf_done(&generated);
    if (r >= 0) *ret_version = version;
    return r;
}

int veil_cas_store_policy_apply(struct veil_cas_store *s, const char *yaml, size_t yaml_size,
                                const uint8_t (*client_ids)[VEIL_SHA256_SIZE], size_t client_id_count,
                                const uint8_t *replaces, int64_t *ret_version, uint8_t ret_hash[VEIL_SHA256_SIZE]) {
    if (client_id_count == 0) return -EINVAL;
    _cleanup_(veil_cas_policy_freep) struct veil_cas_policy *p = NULL;
    int r = veil_cas_policy_parse(yaml, yaml_size, &p);
    if (r < 0) return r;
    uint8_t hash[VEIL_SHA256_SIZE];
    if ((r = veil_sha256(yaml, yaml_size, hash)) < 0) return r;
    if ((r = veil_cas_store_begin(s)) < 0) return r;
    int64_t version = 0;
    r = apply_locked(s, p, yaml, yaml_size, client_ids, client_id_count, replaces, hash, &version);
    if (r >= 0) r = veil_cas_store_commit(s);
    if (r < 0) {
        veil_cas_store_rollback(s);
        if (r == -EPERM || r == -ESTALE) {
            /* refusals are decisions: they go to the audit log (keep the reason across the append) */
            char reason[512], c[65], detail[700];
            snprintf(reason, sizeof(reason), "%s", veil_err_msg());
            hex32(client_ids[0], c);
            struct veil_buf esc = { .limit = 2048 };
            if (veil_cas_json_escape(&esc, reason) < 0) veil_buf_done(&esc);
            snprintf(detail, sizeof(detail), "{\"reason\":%s}", esc.data ? (const char *)esc.data : "\"\"");
            veil_buf_done(&esc);
            if (veil_cas_store_audit(s, "policy.refused", p->name, c, detail) < 0)
                veil_log_debug("cannot audit a refused policy update");
            veil_err(r, "%s", reason);
        }
        return r;
    }
    *ret_version = version;
    memcpy(ret_hash, hash, VEIL_SHA256_SIZE);
    return 0;
}

/* ---------- volumes ---------- */

int veil_cas_store_volume_get(struct veil_cas_store *s, const char *policy, const char *volume, int64_t *ret) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT version FROM volumes WHERE policy=?1 AND name=?2", &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, volume, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return veil_err(-ENOENT, "no volume '%s' in policy '%s'", volume, policy);
    if (rc != SQLITE_ROW) return veil_cas_sql_err(s, rc, "reading volume");
    *ret = sqlite3_column_int64(st, 0);
    return 0;
}

static int volume_set(struct veil_cas_store *s, const char *policy, const char *volume, int64_t version) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "UPDATE volumes SET version=?3 WHERE policy=?1 AND name=?2", &st);
    if (r < 0) return r;
    sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, volume, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, version);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) return veil_cas_sql_err(s, rc, "updating volume");
    if (sqlite3_changes(s->db) != 1) return veil_err(-ENOENT, "no volume '%s' in policy '%s'", volume, policy);
    return 0;
}

struct advance_args {
    const char *policy;
    const struct veil_cas_volume_report *reports;
    size_t count;
    const char *audit_kind, *subject, *audit_detail;
};

static int advance(struct veil_cas_store *s, void *arg) {
    const struct advance_args *a = arg;
    int r = 0;
    for (size_t i = 0; i < a->count && r >= 0; i++) {
        int64_t stored;
        if ((r = veil_cas_store_volume_get(s, a->policy, a->reports[i].name, &stored)) < 0) break;
        if (a->reports[i].version < stored)
            return veil_err(-ESTALE, "volume '%s' is at version %lld but %lld is expected: rolled back? (the owner can accept it)",
                            a->reports[i].name, (long long)a->reports[i].version, (long long)stored);
        if (a->reports[i].version > stored) r = volume_set(s, a->policy, a->reports[i].name, a->reports[i].version);
    }
    if (r >= 0 && a->audit_kind) r = veil_cas_audit_append(s, a->audit_kind, a->policy, a->subject, a->audit_detail);
    return r;
}

int veil_cas_store_volumes_advance(struct veil_cas_store *s, const char *policy,
                                   const struct veil_cas_volume_report *reports, size_t count, const char *audit_kind,
                                   const char *subject, const char *audit_detail) {
    struct advance_args a = { policy, reports, count, audit_kind, subject, audit_detail };
    return veil_cas_store_write(s, advance, &a);
}

struct accept_args {
    const char *policy, *volume, *subject;
    int64_t version;
};

static int accept_version(struct veil_cas_store *s, void *arg) {
    const struct accept_args *a = arg;
    int64_t old = 0;
    int r = veil_cas_store_volume_get(s, a->policy, a->volume, &old);
    if (r >= 0) r = volume_set(s, a->policy, a->volume, a->version);
    if (r < 0) return r;
    char detail[256];
    snprintf(detail, sizeof(detail), "{\"volume\":\"%s\",\"from\":%lld,\"to\":%lld}", a->volume, (long long)old,
             (long long)a->version);
    return veil_cas_audit_append(s, "volume.accepted", a->policy, a->subject, detail);
}

int veil_cas_store_volume_accept(struct veil_cas_store *s, const char *policy, const char *volume, int64_t version,
                                 const char *subject) {
    if (version < 0) return -EINVAL;
    struct accept_args a = { policy, volume, subject, version };
    return veil_cas_store_write(s, accept_version, &a);
}
