/* SPDX-License-Identifier: Apache-2.0 */
/* Calls that change names or metadata: unlink, rmdir, mkdir, symlink, rename, link, truncate, chmod, chown. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "request.h"
#include "vault.h"

/* ---------------------------------------------------------------- namespace changes */

/* The common answer for calls that change a name: allowed where the app may write. */
static int64_t may_change(const struct request *q, const struct veil_shield_resolved *p, const char *what) {
    switch (p->verdict.class) {
    case VEIL_SHIELD_PASSTHROUGH:
    case VEIL_SHIELD_ENCRYPTED:
    case VEIL_SHIELD_EPHEMERAL:
        return 0;
    case VEIL_SHIELD_DENIED: {
        struct stat st;
        bool creates = !strcmp(what, "mkdir") || !strcmp(what, "symlink") || !strcmp(what, "rename");
        if (!creates && veil_shield_disk_lstat(q->s, p->path, &st) < 0) return -ENOENT;
        veil_log_info("denied %s of %s (pid %d): not a writable path of the manifest", what, p->path, q->pid);
        return -EACCES;
    }
    default:
        return -EROFS; /* the image's own files and directories are read-only */
    }
}

struct answer veil_shield_call_unlink(const struct request *q, int dirfd, uint64_t path_addr, bool dir) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, dir ? "rmdir" : "unlink");
    if (v < 0) return answer_value(v);
    if (!dir && veil_shield_is_encrypted_class(p.verdict.class)) veil_shield_vault_forget(q->s->vault, p.path);
    return answer_continue();
}

struct answer veil_shield_call_create_name(const struct request *q, int dirfd, uint64_t path_addr, const char *what) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    if (p.verdict.class == VEIL_SHIELD_DIRECTORY || p.verdict.class == VEIL_SHIELD_TRUSTED ||
        p.verdict.class == VEIL_SHIELD_SYMLINK)
        return answer_value(-EEXIST);
    int64_t v = may_change(q, &p, what);
    return v < 0 ? answer_value(v) : answer_continue();
}

struct answer veil_shield_call_rename(const struct request *q, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr,
                               unsigned flags) {
    struct veil_shield_resolved from, to;
    int r = veil_shield_resolve_arg(q, olddir, old_addr, false, &from);
    if (r < 0) return answer_value(r);
    r = veil_shield_resolve_arg(q, newdir, new_addr, false, &to);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &from, "rename");
    if (v == 0) v = may_change(q, &to, "rename");
    if (v < 0) return answer_value(v);
    enum veil_shield_class a = from.verdict.class, b = to.verdict.class;
    if (a == VEIL_SHIELD_PASSTHROUGH && b == VEIL_SHIELD_PASSTHROUGH) return answer_continue();
    if (!veil_shield_is_encrypted_class(a) || !veil_shield_is_encrypted_class(b)) return answer_value(-EXDEV);
    if (flags & ~(unsigned)RENAME_NOREPLACE) return answer_value(-EINVAL); /* EXCHANGE, WHITEOUT */
    const uint8_t *ka = veil_shield_key_for(q->s, &from.verdict), *kb = veil_shield_key_for(q->s, &to.verdict);
    if (!ka || !kb) return answer_value(-EACCES);
    if (!veil_shield_still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };
    r = veil_shield_vault_rename(q->s->vault, from.path, ka, to.path, kb, flags);
    return answer_value(r);
}

struct answer veil_shield_call_link(const struct request *q, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr,
                             int flags) {
    struct veil_shield_resolved from, to;
    int r = veil_shield_resolve_arg(q, olddir, old_addr, flags & AT_SYMLINK_FOLLOW, &from);
    if (r < 0) return answer_value(r);
    r = veil_shield_resolve_arg(q, newdir, new_addr, false, &to);
    if (r < 0) return answer_value(r);
    if (from.verdict.class == VEIL_SHIELD_PASSTHROUGH && to.verdict.class == VEIL_SHIELD_PASSTHROUGH)
        return answer_continue();
    /* an encrypted file is bound to one path: a second name could not decrypt it */
    int64_t v = may_change(q, &to, "link");
    return answer_value(v < 0 ? v : -EPERM);
}

struct answer veil_shield_call_truncate(const struct request *q, uint64_t path_addr, int64_t length) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, AT_FDCWD, path_addr, true, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, "truncate");
    if (v < 0) return answer_value(v);
    if (!veil_shield_is_encrypted_class(p.verdict.class)) return answer_continue();
    if (length < 0) return answer_value(-EINVAL);
    struct stat st;
    r = veil_shield_disk_lstat(q->s, p.path, &st);
    if (r < 0) return answer_value(r);
    if (S_ISDIR(st.st_mode)) return answer_value(-EISDIR);
    const uint8_t *key = veil_shield_key_for(q->s, &p.verdict);
    if (!key) return answer_value(-EACCES);
    return answer_value(veil_shield_vault_truncate(q->s->vault, p.path, key, (uint64_t)length));
}

struct answer veil_shield_call_metadata(const struct request *q, int dirfd, uint64_t path_addr, bool follow) {
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, "chmod/chown");
    return v < 0 ? answer_value(v) : answer_continue();
}
