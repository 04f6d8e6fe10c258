/* SPDX-License-Identifier: Apache-2.0 */
/* veil-cas state: policies, encrypted secrets, volume versions and the audit chain in SQLite (WAL). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/macro.h"
#include "base/secbuf.h"
#include "crypto/hash.h"

#include <openssl/evp.h>

#define VEIL_CAS_MASTER_KEY_SIZE 32
#define VEIL_CAS_DETAIL_MAX 4096

/*
 * The master key is sealed to the service's identity. Only `sim` sealing exists
 * so far: the sealing key is derived from a 32-byte root file (created on first
 * use, mode 0600). See docs/cas.md for what that does and does not protect.
 * On first use a fresh master key is generated and sealed into
 * <state_dir>/master.sealed; later calls unseal it (-EACCES if the root is wrong).
 */
int veil_cas_master_key_load(const char *state_dir, const char *seal_root_path,
                             struct veil_secbuf **ret) _warn_unused_;

/* Seal master under the root at seal_root_path (created when missing), replacing master.sealed:
 * after a recovery, or to move to a new root. */
int veil_cas_master_key_reseal(const char *state_dir, const char *seal_root_path,
                               const struct veil_secbuf *master) _warn_unused_;

/*
 * Recovery: the master key wrapped for an owner's public key (EC P-256/P-384 or X25519), in
 * <state_dir>/master.recovery, so that losing the sealing root (or moving the service to
 * another TEE) loses no secret and restarts no workload. Layout in docs/cas.md.
 */
int veil_cas_recovery_wrap(const char *state_dir, EVP_PKEY *recipient, const struct veil_secbuf *master) _warn_unused_;
/* -EACCES when the key is not the recipient's or the file was altered. */
int veil_cas_recovery_unwrap(const char *state_dir, EVP_PKEY *private_key, struct veil_secbuf **ret) _warn_unused_;

/* The framing of master.recovery (untrusted bytes; borrows from data). */
struct veil_cas_recovery_blob {
    const uint8_t *header;       /* everything before the IV: the AAD */
    size_t header_size;
    const uint8_t *ephemeral_spki;
    size_t ephemeral_spki_size;
    const uint8_t *recipient_id; /* 32: SHA-256 of the recipient's SubjectPublicKeyInfo */
    const uint8_t *iv;           /* 12 */
    const uint8_t *ciphertext;   /* 32 */
    const uint8_t *tag;          /* 16 */
};
int veil_cas_recovery_parse(const uint8_t *data, size_t size, struct veil_cas_recovery_blob *ret) _warn_unused_;

/*
 * One store per thread: its own SQLite connection (WAL, synchronous=FULL) and
 * its own AES-GCM contexts. Independent stores on one database run in
 * parallel; SQLite serializes only the short write transactions.
 * Every function that changes state commits before it returns 0.
 */
struct veil_cas_store;
int veil_cas_store_open(const char *db_path, const struct veil_secbuf *master, struct veil_cas_store **ret) _warn_unused_;
void veil_cas_store_close(struct veil_cas_store *s);
VEIL_DEFINE_CLEANUP(struct veil_cas_store *, veil_cas_store_close, veil_cas_store_closep)

/* The current version of a policy: its number, hash (SHA-256 of the YAML) and YAML text.
 * -ENOENT when no policy has that name. */
struct veil_cas_policy_version {
    int64_t version;
    uint8_t hash[VEIL_SHA256_SIZE];
    uint8_t previous[VEIL_SHA256_SIZE];
    bool has_previous;
    uint8_t applied_by[VEIL_SHA256_SIZE];
    int64_t time;
    char *yaml;      /* owned; NUL-terminated */
    size_t yaml_size;
};
void veil_cas_policy_version_done(struct veil_cas_policy_version *v);

int veil_cas_store_policy_current(struct veil_cas_store *s, const char *name,
                                  struct veil_cas_policy_version *ret) _warn_unused_;
/* Just the hash of the current version (cheap: for caches). */
int veil_cas_store_policy_current_hash(struct veil_cas_store *s, const char *name,
                                       uint8_t ret[VEIL_SHA256_SIZE]) _warn_unused_;
int veil_cas_store_policy_get(struct veil_cas_store *s, const char *name, int64_t version,
                              struct veil_cas_policy_version *ret) _warn_unused_;
/* Versions newest first; *ret is an array of *ret_count entries (free each with _done, then the array). */
int veil_cas_store_policy_history(struct veil_cas_store *s, const char *name, struct veil_cas_policy_version **ret,
                                  size_t *ret_count) _warn_unused_;

/*
 * Parse, check and apply a policy in one transaction. The client has one or more identities
 * (its key id, its certificate fingerprint); the first that is listed is recorded:
 *  - a new name: the client must be one of the new policy's owners, `replaces` NULL;
 *  - an update: the client must be an owner of the current version (-EPERM) and
 *    `replaces` its hash (-ESTALE otherwise).
 * Secrets whose definition is unchanged are kept; new or changed ones are generated.
 * Refusals are audited too. On success *ret_version is the new version number.
 */
int veil_cas_store_policy_apply(struct veil_cas_store *s, const char *yaml, size_t yaml_size,
                                const uint8_t (*client_ids)[VEIL_SHA256_SIZE], size_t client_id_count,
                                const uint8_t *replaces, int64_t *ret_version,
                                uint8_t ret_hash[VEIL_SHA256_SIZE]) _warn_unused_;

/* The stored material of a secret (see secret.h for its layout per kind). -ENOENT when absent. */
int veil_cas_store_secret_get(struct veil_cas_store *s, const char *policy, const char *name,
                              struct veil_secbuf **ret) _warn_unused_;

/*
 * Renew the policy's certificates that are past two thirds of their validity at `now`
 * (CAs first; a renewed CA renews every leaf it issued), with an audit entry naming them.
 * Workloads get the new certificates at their next attestation.
 */
struct veil_cas_policy;
int veil_cas_store_renew_certificates(struct veil_cas_store *s, const struct veil_cas_policy *policy, time_t now,
                                      const char *subject, size_t *ret_renewed) _warn_unused_;

/* Volume versions: -ENOENT for an unknown volume. */
int veil_cas_store_volume_get(struct veil_cas_store *s, const char *policy, const char *volume,
                              int64_t *ret) _warn_unused_;

/*
 * A workload start or write-back reports volume versions. Each must be >= the
 * stored one (else -ESTALE with the volume named in veil_err, and nothing is
 * changed); stored versions advance to what was reported. `audit_kind` and
 * `audit_detail` (JSON) are appended in the same transaction, so the audit
 * entry and the versions commit together or not at all.
 */
struct veil_cas_volume_report {
    const char *name;
    int64_t version;
};
int veil_cas_store_volumes_advance(struct veil_cas_store *s, const char *policy,
                                   const struct veil_cas_volume_report *reports, size_t count,
                                   const char *audit_kind, const char *subject, const char *audit_detail) _warn_unused_;
/* The owner accepts a version explicitly (also a lower one). */
int veil_cas_store_volume_accept(struct veil_cas_store *s, const char *policy, const char *volume, int64_t version,
                                 const char *subject) _warn_unused_;

/* Append one audit entry in its own transaction. `detail` is JSON text, never a secret value. */
int veil_cas_store_audit(struct veil_cas_store *s, const char *kind, const char *policy, const char *subject,
                         const char *detail) _warn_unused_;

/*
 * Walk the audit chain and recompute every entry's HMAC. 0 when intact
 * (*ret_count entries); -EACCES with the first bad sequence number in
 * *ret_bad_seq and veil_err when an entry was changed, inserted or removed.
 */
int veil_cas_store_audit_verify(struct veil_cas_store *s, int64_t *ret_count, int64_t *ret_bad_seq) _warn_unused_;

/* The stored hash of entry seq (-ENOENT when there is none). Meaningful after a verify: owners
 * record "SEQ:HASH" of the head and later check that the log still holds it (truncation and
 * rollback of the whole database cannot be seen from inside it). */
int veil_cas_store_audit_hash(struct veil_cas_store *s, int64_t seq, uint8_t ret[VEIL_SHA256_SIZE]) _warn_unused_;

/* Audit entries as a JSON array text (malloc'd), for one policy (or all when NULL), after seq `since`. */
int veil_cas_store_audit_list(struct veil_cas_store *s, const char *policy, int64_t since, size_t limit,
                              char **ret_json) _warn_unused_;
