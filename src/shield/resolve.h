/* SPDX-License-Identifier: Apache-2.0 */
/* Resolve a path an application named into a normalised path inside the image root, and classify it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"
#include "policy.h"

#define VEIL_SHIELD_PATH_MAX 4096
#define VEIL_SHIELD_MAX_SYMLINKS 40 /* as the kernel's MAXSYMLINKS */

/*
 * Resolution works on the application's view: "/" is the image root, and no
 * `..` or symlink can leave it (`/..` is `/`, an absolute link target starts
 * again at the root). Symlinks recorded in the policy (the manifest's) are
 * followed by their recorded target, never by what the host's disk says; links
 * below rules (created at run time in /tmp or an encrypted directory) are read
 * through `readlink`. Resolution stops at the first component that falls under
 * a PASSTHROUGH rule: the kernel resolves the rest in the host's view.
 */
struct veil_shield_resolver {
    const struct veil_shield_policy *policy;
    /* Read the link at a normalised path: its length (target copied, not NUL-terminated),
     * -EINVAL when the object is not a symlink, -ENOENT when it does not exist. */
    int (*readlink)(void *ctx, const char *path, char *buf, size_t size);
    void *ctx;
};

struct veil_shield_resolved {
    char path[VEIL_SHIELD_PATH_MAX]; /* normalised absolute path ("/" for the root) */
    size_t path_size;
    struct veil_shield_verdict verdict;
    bool must_be_dir;                /* the name ended in '/' */
};

/*
 * `base` is the normalised absolute directory relative names start from (the
 * process's cwd or dirfd). follow_final: whether a symlink in the last
 * component is followed (O_NOFOLLOW, lstat and unlink don't).
 * Returns 0, -ENOENT (empty path), -ELOOP, -ENAMETOOLONG, -EINVAL (base not
 * normal), or -ENOTDIR (a trusted file used as a directory). Missing components
 * are not an error here: the call itself says ENOENT.
 */
int veil_shield_resolve(const struct veil_shield_resolver *r, const char *base, const char *path,
                        bool follow_final, struct veil_shield_resolved *ret) _warn_unused_;
