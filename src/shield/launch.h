/* SPDX-License-Identifier: Apache-2.0 */
/* Start the application under the filter, and be its init: forward signals, reap, write back, exit alike. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"

struct veil_shield;

struct veil_shield_launch {
    const char *root;          /* host path; the child is chrooted there unless it is "/" */
    const char *const *argv;   /* argv[0]: the executable's path in the application's view */
    int exec_fd;               /* >= 0: run this (fexecve) instead of argv[0]: an encrypted entrypoint's plaintext */
    const char *const *envp;   /* exactly the application's environment */
    const char *cwd;           /* in the application's view */
    bool set_user;
    uid_t uid;
    gid_t gid;
};

/*
 * Fork; in the child enter the root, the cwd and the user, install the filter,
 * hand the listener to the parent over a socket pair, and execve. The child's
 * execve is itself mediated, so it waits until the supervisor serves.
 */
int veil_shield_spawn(const struct veil_shield_launch *l, pid_t *ret_pid, int *ret_listener) _warn_unused_;

/*
 * Act as init for the application served by `s` (veil_shield_serve() first) until
 * its main process exits: forward SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2,
 * reap every child (veil-run is a subreaper, or PID 1), write encrypted copies
 * back every writeback_seconds, when their last user exits and at the end.
 * Returns the exit code veil-run should exit with: the app's status, or
 * 128+signal when it was killed. Signals must have been blocked by
 * veil_shield_block_signals() before spawning.
 */
int veil_shield_supervise(struct veil_shield *s, pid_t pid, unsigned writeback_seconds);

/* Block the forwarded signals and SIGCHLD in the calling thread (before threads and the child exist). */
int veil_shield_block_signals(void) _warn_unused_;
