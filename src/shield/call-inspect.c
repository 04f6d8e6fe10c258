/* SPDX-License-Identifier: Apache-2.0 */
/* The stat family (plaintext sizes of encrypted files), access, and readlink (the manifest's targets). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "procmem.h"
#include "request.h"
#include "vault.h"

/* ---------------------------------------------------------------- stat family */

/* For an encrypted regular file: the disk's metadata with the plaintext size. */
static int encrypted_size(const struct request *q, const struct veil_shield_resolved *p, uint64_t *ret) {
    const uint8_t *key = veil_shield_key_for(q->s, &p->verdict);
    if (!key) return -EACCES;
    int r = veil_shield_vault_size(q->s->vault, p->path, key, ret);
    if (r < 0 && r != -ENOENT) veil_log_error("refusing encrypted file %s: %s", p->path, veil_err_describe(r));
    return r == -ENOENT ? r : r < 0 ? -EACCES : 0;
}

struct answer veil_shield_call_stat(const struct request *q, int dirfd, uint64_t path_addr, bool follow, uint64_t buf,
                             bool is_statx, unsigned statx_mask, int statx_flags) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    if (!veil_shield_is_encrypted_class(p.verdict.class)) return answer_continue();
    struct stat st;
    r = veil_shield_disk_lstat(q->s, p.path, &st);
    if (r < 0 || !S_ISREG(st.st_mode)) return answer_continue();
    uint64_t size;
    r = encrypted_size(q, &p, &size);
    if (r < 0) return answer_value(r);
    char hp[PATH_MAX];
    r = veil_shield_host_path(q->s, p.path, hp, sizeof(hp));
    if (r < 0) return answer_value(r);
    if (!veil_shield_still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };
    if (is_statx) {
        struct statx stx;
        int f = (statx_flags & (AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT)) | AT_SYMLINK_NOFOLLOW;
        if (statx(AT_FDCWD, hp, f, statx_mask, &stx) < 0) return answer_value(-errno);
        stx.stx_size = size;
        stx.stx_blocks = (size + 511) / 512;
        r = veil_shield_write_mem(q->pid, buf, &stx, sizeof(stx));
    } else {
        if (lstat(hp, &st) < 0) return answer_value(-errno);
        st.st_size = (off_t)size;
        st.st_blocks = (blkcnt_t)((size + 511) / 512);
        r = veil_shield_write_mem(q->pid, buf, &st, sizeof(st));
    }
    return answer_value(r < 0 ? -EFAULT : 0);
}

struct answer veil_shield_call_access(const struct request *q, int dirfd, uint64_t path_addr, int mode, int flags) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, !(flags & AT_SYMLINK_NOFOLLOW), &p);
    if (r < 0) return answer_value(r);
    enum veil_shield_class c = p.verdict.class;
    if ((mode & W_OK) && (c == VEIL_SHIELD_TRUSTED || c == VEIL_SHIELD_SECRET || c == VEIL_SHIELD_DIRECTORY))
        return answer_value(-EROFS);
    if (c == VEIL_SHIELD_SECRET) return answer_value(0);
    return answer_continue();
}

struct answer veil_shield_call_readlink(const struct request *q, int dirfd, uint64_t path_addr, uint64_t buf,
                                 uint64_t size) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    if (p.verdict.class != VEIL_SHIELD_SYMLINK) return answer_continue();
    /* the manifest's target, not whatever the host's disk now says */
    if ((int64_t)size <= 0) return answer_value(-EINVAL);
    size_t n = MIN(strlen(p.verdict.target), (size_t)size);
    r = veil_shield_write_mem(q->pid, buf, p.verdict.target, n);
    return answer_value(r < 0 ? -EFAULT : (int64_t)n);
}
