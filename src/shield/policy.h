/* SPDX-License-Identifier: Apache-2.0 */
/* What veil-run does with a normalised path: the supervisor's view of the manifest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

/*
 * The supervisor never looks at the manifest directly: it asks a policy to
 * classify a normalised absolute path (inside the image root). The manifest
 * backs the policy in production (policy-manifest.c); tests build a table by
 * hand (policy-table.c). Strings in a verdict belong to the policy and live as
 * long as it does.
 */
enum veil_shield_class {
    VEIL_SHIELD_DENIED = 0,   /* not in the manifest: refuse */
    VEIL_SHIELD_TRUSTED,      /* regular file, must hash to verdict.sha256 */
    VEIL_SHIELD_ENCRYPTED,    /* encfile under the key `key_name`, logical path = the path */
    VEIL_SHIELD_EPHEMERAL,    /* scratch (/tmp, /run): encfile under a key made for this run */
    VEIL_SHIELD_SECRET,       /* a memory-only file whose bytes the policy holds */
    VEIL_SHIELD_PASSTHROUGH,  /* the host's view, unmediated: /proc, /sys, /dev */
    VEIL_SHIELD_DIRECTORY,    /* a directory of the image */
    VEIL_SHIELD_SYMLINK,      /* a symbolic link of the image; target in verdict.target */
};

const char *veil_shield_class_name(enum veil_shield_class c);

struct veil_shield_verdict {
    enum veil_shield_class class;
    bool from_rule;                     /* matched by a prefix rule, not an exact entry */
    uint32_t mode;                      /* permission bits for entries */
    uint32_t uid, gid;                  /* owner of entries */
    uint64_t size;                      /* trusted: expected size */
    uint8_t sha256[VEIL_SHA256_SIZE];   /* trusted: expected content digest */
    const char *target;                 /* symlink target */
    const char *key_name;               /* encrypted: the key's name */
    const uint8_t *secret;              /* secret: the bytes */
    size_t secret_size;
};

struct veil_shield_policy {
    void *ctx;
    /* Fill *ret for the normalised absolute path. Never fails: unknown paths are DENIED. */
    void (*classify)(void *ctx, const char *path, size_t path_size, struct veil_shield_verdict *ret);
};

static inline void veil_shield_classify(const struct veil_shield_policy *p, const char *path, size_t path_size,
                                        struct veil_shield_verdict *ret) {
    p->classify(p->ctx, path, path_size, ret);
}

/* True when `prefix` is `path` or a parent directory of it, component-wise ("/" covers all). */
bool veil_shield_path_has_prefix(const char *path, size_t path_size, const char *prefix);

/* ---- a hand-built table (tests, and the defaults below every manifest) ---- */

struct veil_shield_table;
int veil_shield_table_new(struct veil_shield_table **ret) _warn_unused_;
void veil_shield_table_free(struct veil_shield_table *t);
VEIL_DEFINE_CLEANUP(struct veil_shield_table *, veil_shield_table_free, veil_shield_table_freep)
/* A prefix rule for a subtree (PASSTHROUGH, EPHEMERAL, ENCRYPTED, TRUSTED without digest is not allowed). */
int veil_shield_table_add_rule(struct veil_shield_table *t, const char *path, enum veil_shield_class class,
                               const char *key_name) _warn_unused_;
/* An exact entry; strings are copied. */
int veil_shield_table_add_entry(struct veil_shield_table *t, const char *path,
                                const struct veil_shield_verdict *v) _warn_unused_;
/* Hash the file at host_path and add it as TRUSTED under `path` (for tests and tools). */
int veil_shield_table_add_trusted_file(struct veil_shield_table *t, const char *path, const char *host_path) _warn_unused_;
/* Sort entries; must be called after the last add and before use. */
void veil_shield_table_seal(struct veil_shield_table *t);
struct veil_shield_policy veil_shield_table_policy(struct veil_shield_table *t);
