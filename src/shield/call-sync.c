/* SPDX-License-Identifier: Apache-2.0 */
/* fsync, fdatasync, sync, syncfs, msync: decrypted copies go back to disk, encrypted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "request.h"
#include "vault.h"

/* ---------------------------------------------------------------- durability */

struct answer veil_shield_call_fsync(const struct request *q, int fd) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, fd);
    struct stat st;
    veil_shield_proc_access_begin(q->s);
    int r = stat(link, &st);
    veil_shield_proc_access_end(q->s);
    if (r < 0) return answer_continue(); /* let the kernel say EBADF */
    r = veil_shield_vault_sync_inode(q->s->vault, st.st_dev, st.st_ino);
    if (r == -ENOENT) return answer_continue();
    return answer_value(r < 0 ? -EIO : 0);
}

struct answer veil_shield_call_sync_all(const struct request *q, bool force) {
    int r = veil_shield_vault_flush(q->s->vault, force);
    if (r < 0) veil_log_warning("writeback failed: %s", veil_err_describe(r));
    return answer_continue();
}
