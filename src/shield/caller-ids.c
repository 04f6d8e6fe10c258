/* SPDX-License-Identifier: Apache-2.0 */
/* Taking the calling process's own ids when it runs as another user than veil-run expected (nginx's workers). */
#include "caller-ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

/*
 * Without CAP_SYS_PTRACE (a container's default) process_vm_readv and the
 * /proc/PID links work only when our ids match the target's. veil-run takes
 * the manifest's user at start (supervisor.c), but an application may change
 * its ids itself: nginx's master stays root while its workers become
 * www-data. So when a call is refused for our ids, the receiving thread takes
 * the caller's real ids (this thread only: raw system calls; the effective ids
 * stay root's so files can still be opened) and the request is answered
 * again. The ids stay with the thread until another caller needs others, so a
 * busy worker costs one retry, not one per call.
 */

static _Thread_local bool refused;
static _Thread_local bool taken;
static _Thread_local uid_t taken_uid;
static _Thread_local gid_t taken_gid;

void veil_shield_caller_ids_reset(void) {
    refused = false;
}

void veil_shield_caller_ids_note(int r) {
    if (r == -EPERM || r == -EACCES) refused = true;
}

bool veil_shield_caller_ids_refused(void) {
    return refused;
}

bool veil_shield_caller_ids_fs(uid_t *uid, gid_t *gid) {
    if (!taken) return false;
    *uid = taken_uid;
    *gid = taken_gid;
    return true;
}

/* The real uid and gid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"), readable by anyone. */
static int read_real_ids(pid_t pid, uid_t *uid, gid_t *gid) {
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int err = errno;
    close(fd);
    if (n <= 0) return n < 0 ? -err : -EIO;
    buf[n] = 0;
    const char *u = strstr(buf, "\nUid:\t"), *g = strstr(buf, "\nGid:\t");
    unsigned long ru, rg;
    if (!u || !g || sscanf(u + 6, "%lu", &ru) != 1 || sscanf(g + 6, "%lu", &rg) != 1) return -EIO;
    *uid = (uid_t)ru;
    *gid = (gid_t)rg;
    return 0;
}

int veil_shield_caller_ids_take(pid_t pid) {
    uid_t uid;
    gid_t gid;
    int r = read_real_ids(pid, &uid, &gid);
    if (r < 0) return r;
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (syscall(SYS_getresuid, &ruid, &euid, &suid) < 0 || syscall(SYS_getresgid, &rgid, &egid, &sgid) < 0) return -errno;
    if (ruid == uid && rgid == gid) return 0; /* a retry would not help (not dumpable, or not the reason) */
    if (syscall(SYS_setresgid, gid, -1, -1) < 0 || syscall(SYS_setresuid, uid, -1, -1) < 0) {
        r = -errno;
        veil_log_warning("cannot take the ids %u:%u of pid %d: %s", (unsigned)uid, (unsigned)gid, pid, strerror(-r));
        return r;
    }
    taken = true;
    taken_uid = uid;
    taken_gid = gid;
    return 1;
}
