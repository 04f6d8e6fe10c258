/* SPDX-License-Identifier: Apache-2.0 */
/* The signed image manifest: load+verify, path lookup, start-up configuration, measurement. */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

/*
 * The byte layout is specified in docs/manifest.md. In short: a canonical body
 * (64-byte header, start-up configuration, key names, prefix rules, a table of
 * fixed-size entry records sorted by path, and a pool of NUL-terminated strings)
 * followed by a signature block (the signer's SubjectPublicKeyInfo DER and a
 * signature over the body). The measurement covers the body, not the signature.
 *
 * Ownership: a loaded `struct veil_manifest` owns a private copy of the bytes;
 * every `const char *` it hands out points into that copy and lives as long as
 * the manifest. Nothing is allocated per lookup.
 */

#define VEIL_MANIFEST_MAGIC "VEIL-MF1"
#define VEIL_MANIFEST_VERSION 2 /* 2: chunked content digests of files over 1 MiB (file-digest.h) */
#define VEIL_MANIFEST_IMAGE_KEY "image"     /* key name of the image key made by `veil wrap` */
#define VEIL_MANIFEST_PATH "/veil/manifest" /* where the manifest lives inside an image */

/* Limits the decoder enforces before allocating or trusting anything. */
#define VEIL_MANIFEST_MAX_SIZE ((size_t)256 << 20)
#define VEIL_MANIFEST_MAX_ENTRIES 4000000u
#define VEIL_MANIFEST_MAX_PATH 4096u
#define VEIL_MANIFEST_MAX_STRING 65536u  /* one config string (argument, env entry, address) */
#define VEIL_MANIFEST_MAX_LIST 4096u     /* argv, env, host env names, keys, rules */
#define VEIL_MANIFEST_NO_KEY 0xffffu

enum veil_manifest_class {
    VEIL_MANIFEST_NONE = 0,        /* not in the manifest: veil-run denies it */
    VEIL_MANIFEST_TRUSTED = 1,     /* regular file, contents must hash to entry.sha256 */
    VEIL_MANIFEST_ENCRYPTED = 2,   /* regular file in encfile format under key `key_name` */
    VEIL_MANIFEST_PASSTHROUGH = 3, /* (rules only) the host's view, unmediated: /proc, /sys, /dev */
    VEIL_MANIFEST_DIRECTORY = 4,   /* (entries only) a directory of the image */
    VEIL_MANIFEST_SYMLINK = 5,     /* (entries only) a symbolic link; target in entry.target */
    VEIL_MANIFEST_EPHEMERAL = 6,   /* (rules only) run-time scratch, not persisted or protected: /tmp, /run */
};

const char *veil_manifest_class_name(enum veil_manifest_class c);

/* One file-system object of the image. Strings point into the manifest. */
struct veil_manifest_entry {
    const char *path;       /* absolute, normalised: "/", "/usr/bin/python3" */
    size_t path_size;
    enum veil_manifest_class class; /* TRUSTED, ENCRYPTED, DIRECTORY or SYMLINK */
    uint32_t mode;          /* permission bits only (07777); the type is the class */
    uint32_t uid, gid;
    uint64_t size;          /* regular files: bytes of (plaintext) content; symlinks: target length */
    uint8_t sha256[VEIL_SHA256_SIZE]; /* regular files: SHA-256 of the (plaintext) content; else zero */
    const char *target;     /* symlinks: the link target as stored in the image; else "" */
    const char *key_name;   /* ENCRYPTED: key name (e.g. "image"); else NULL */
};

/* A path-prefix rule: covers `path` itself and everything below it (component-wise). */
struct veil_manifest_rule {
    const char *path;
    enum veil_manifest_class class; /* ENCRYPTED, PASSTHROUGH or EPHEMERAL */
    const char *key_name;           /* ENCRYPTED: the key for files created below; else NULL */
};

/* How the application starts. Arrays are NULL-terminated; strings point into the manifest. */
struct veil_manifest_config {
    const char *const *argv;      /* argv[0] is the executable path inside the image */
    size_t argc;
    const char *const *env;       /* "NAME=value" entries, in the order given */
    size_t env_count;
    const char *const *host_env;  /* names of host environment variables let through */
    size_t host_env_count;
    const char *cwd;              /* absolute; "/" by default */
    uint32_t uid, gid;
    const char *attest_address;   /* "host:port" of the attestation service, "" when none */
    const char *attest_policy;    /* policy name at that service, "" when none */
    uint32_t product_id;
    uint32_t security_version;
};

struct veil_manifest;

/*
 * Verify and load a signed manifest: the signature is checked with the public
 * key embedded in the signature block, then every structural rule of
 * docs/manifest.md (sorted unique paths, bounds, canonical string pool, known
 * classes, zero reserved bytes). Returns -EBADMSG for malformed bytes, -EACCES
 * for a bad signature. The caller decides whether it trusts the signer: compare
 * veil_manifest_signer_id() with what it expects (or let attestation do it).
 */
int veil_manifest_load(const void *data, size_t size, struct veil_manifest **ret) _warn_unused_;
/* The same from a file (read fully into memory first, so later changes to the file don't matter). */
int veil_manifest_load_file(const char *path, struct veil_manifest **ret) _warn_unused_;
void veil_manifest_free(struct veil_manifest *m);
VEIL_DEFINE_CLEANUP(struct veil_manifest *, veil_manifest_free, veil_manifest_freep)

/* SHA-256 of the signer's SubjectPublicKeyInfo DER (the same as veil_key_id). */
void veil_manifest_signer_id(const struct veil_manifest *m, uint8_t out[VEIL_SHA256_SIZE]);
/* SHA-256 of the canonical body (the signed bytes, without the signature block). */
void veil_manifest_digest(const struct veil_manifest *m, uint8_t out[VEIL_SHA256_SIZE]);
/* The canonical body bytes themselves. */
const uint8_t *veil_manifest_body(const struct veil_manifest *m, size_t *ret_size);

/*
 * measurement = SHA-256("veil-measurement-v1\0" || runtime_digest || manifest_digest)
 * where runtime_digest = SHA-256(veil-run binary bytes) and manifest_digest =
 * SHA-256(canonical manifest body). veil-run passes the digest of /proc/self/exe.
 */
int veil_manifest_measurement(const uint8_t runtime_digest[VEIL_SHA256_SIZE],
                              const uint8_t manifest_digest[VEIL_SHA256_SIZE],
                              uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;

const struct veil_manifest_config *veil_manifest_config(const struct veil_manifest *m);

/* Entries, sorted by path (bytewise). index < veil_manifest_entry_count(). */
size_t veil_manifest_entry_count(const struct veil_manifest *m);
void veil_manifest_entry_at(const struct veil_manifest *m, size_t index, struct veil_manifest_entry *ret);
/* Exact lookup by normalised absolute path (binary search): 0, or -ENOENT. */
int veil_manifest_find(const struct veil_manifest *m, const char *path, size_t path_size,
                       struct veil_manifest_entry *ret) _warn_unused_;

/* Prefix rules, sorted by path. */
size_t veil_manifest_rule_count(const struct veil_manifest *m);
const struct veil_manifest_rule *veil_manifest_rule_at(const struct veil_manifest *m, size_t index);
/* The longest rule whose path is `path` or a parent directory of it; NULL when none. */
const struct veil_manifest_rule *veil_manifest_match_rule(const struct veil_manifest *m, const char *path,
                                                          size_t path_size);

/* Key names in the key table (at most VEIL_MANIFEST_MAX_LIST). */
size_t veil_manifest_key_count(const struct veil_manifest *m);
const char *veil_manifest_key_at(const struct veil_manifest *m, size_t index);

/*
 * What veil-run should do with a normalised absolute path, in this order:
 *   1. a PASSTHROUGH or EPHEMERAL rule covers it -> that class (no entry is consulted;
 *      the manifest never holds entries below such rules);
 *   2. an entry with this exact path -> the entry's class (and *ret_entry is filled);
 *   3. an ENCRYPTED rule covers it -> ENCRYPTED with the rule's key (a file created at run time);
 *   4. otherwise VEIL_MANIFEST_NONE (deny).
 * ret_entry may be NULL; it is written only in case 2. ret_key_name (may be NULL) gets the
 * key for ENCRYPTED results.
 */
enum veil_manifest_class veil_manifest_classify(const struct veil_manifest *m, const char *path,
                                                size_t path_size, struct veil_manifest_entry *ret_entry,
                                                const char **ret_key_name);

/* True for "/" and for absolute paths without empty, "." or ".." components or a trailing '/'. */
bool veil_manifest_path_is_normal(const char *path, size_t path_size);

/* ---- building (used by `veil wrap`; veil-run needs none of this) ---- */

struct veil_manifest_builder;

int veil_manifest_builder_new(struct veil_manifest_builder **ret) _warn_unused_;
void veil_manifest_builder_free(struct veil_manifest_builder *b);
VEIL_DEFINE_CLEANUP(struct veil_manifest_builder *, veil_manifest_builder_free, veil_manifest_builder_freep)

/* Copies every string. argv/env/host_env arrays: `count` elements. */
int veil_manifest_builder_set_argv(struct veil_manifest_builder *b, const char *const *argv, size_t count) _warn_unused_;
int veil_manifest_builder_set_env(struct veil_manifest_builder *b, const char *const *env, size_t count) _warn_unused_;
int veil_manifest_builder_add_host_env(struct veil_manifest_builder *b, const char *name) _warn_unused_;
int veil_manifest_builder_set_cwd(struct veil_manifest_builder *b, const char *cwd) _warn_unused_;
void veil_manifest_builder_set_user(struct veil_manifest_builder *b, uint32_t uid, uint32_t gid);
int veil_manifest_builder_set_attestation(struct veil_manifest_builder *b, const char *address,
                                          const char *policy) _warn_unused_;
void veil_manifest_builder_set_product(struct veil_manifest_builder *b, uint32_t product_id,
                                       uint32_t security_version);
/* A prefix rule; key_name only for ENCRYPTED. A second rule for the same path replaces the first. */
int veil_manifest_builder_add_rule(struct veil_manifest_builder *b, const char *path,
                                   enum veil_manifest_class class, const char *key_name) _warn_unused_;
/* An entry (strings copied; e->path_size ignored, e->target used for symlinks, e->key_name for ENCRYPTED). */
int veil_manifest_builder_add_entry(struct veil_manifest_builder *b, const struct veil_manifest_entry *e) _warn_unused_;

/* The canonical body: same content, same bytes (entries and rules sorted, keys sorted). */
int veil_manifest_builder_encode(struct veil_manifest_builder *b, uint8_t **ret_body, size_t *ret_size) _warn_unused_;

/* body || signature block, signed by `key` (Ed25519; ECDSA P-256/P-384 accepted too). */
int veil_manifest_sign(const uint8_t *body, size_t body_size, EVP_PKEY *key, uint8_t **ret_data,
                       size_t *ret_size) _warn_unused_;
