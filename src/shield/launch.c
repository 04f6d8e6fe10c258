/* SPDX-License-Identifier: Apache-2.0 */
/* fork + filter + execve, the listener handed over with SCM_RIGHTS, and the init loop. */
#include "launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "filter.h"
#include "supervisor.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void forwarded_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) sigaddset(set, forwarded[i]);
}

int veil_shield_block_signals(void) {
    sigset_t set;
    forwarded_set(&set);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return r ? -r : 0;
}

static int send_fd(int sock, int fd) {
    char dummy = 'L';
    struct iovec iov = { &dummy, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int sock, int *ret) {
    char dummy;
    struct iovec iov = { &dummy, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return n < 0 ? -errno : -EPIPE;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -EBADMSG;
    memcpy(ret, CMSG_DATA(c), sizeof(int));
    return 0;
}

/* In the child: report why it could not start, then exit like a shell does. */
_noreturn_ static void child_fail(int sock, const char *what, int err) {
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "veil-run: error: %s: %s\n", what, strerror(err));
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)MIN((size_t)n, sizeof(msg) - 1));
        (void)w;
    }
    (void)sock;
    _exit(127);
}

static int write_proc_self(const char *name, const char *text) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int r = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return r;
}

/*
 * `--root` for a developer without CAP_SYS_CHROOT: a user namespace in which
 * the manifest's user is mapped onto the developer's own ids, so chroot (and
 * the switch to that user) are allowed inside it and nothing is gained outside.
 * The supervisor, in the parent namespace with the same ids, can still read
 * the application's memory.
 */
static int enter_user_namespace(const struct veil_shield_launch *l) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) < 0) return -errno;
    char map[64];
    int r = write_proc_self("setgroups", "deny");
    if (r < 0) return r;
    snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)(l->set_user ? l->uid : uid), (unsigned)uid);
    if ((r = write_proc_self("uid_map", map)) < 0) return r;
    snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)(l->set_user ? l->gid : gid), (unsigned)gid);
    return write_proc_self("gid_map", map);
}

_noreturn_ static void child(const struct veil_shield_launch *l, int sock) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++) signal(forwarded[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL); /* veil-run ignores it; an ignored signal would survive execve */
    /* without its supervisor the application must not run on */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /*
     * We inherited veil-run's non-dumpable state, and without CAP_SYS_PTRACE (a
     * container's default) the supervisor could not read the path of our own
     * execve. Nothing secret is left in this copy: secret buffers are
     * MADV_DONTFORK. execve would make the application dumpable anyway. (Also, the
     * /proc/self files a user namespace is set up through belong to root while
     * we are not dumpable.)
     */
    prctl(PR_SET_DUMPABLE, 1);

    if (strcmp(l->root, "/") != 0) {
        if (chroot(l->root) < 0) {
            if (errno != EPERM || getuid() == 0) child_fail(sock, "cannot enter the root", errno);
            int r = enter_user_namespace(l);
            if (r < 0) child_fail(sock, "cannot enter a user namespace for --root", -r);
            if (chroot(l->root) < 0) child_fail(sock, "cannot enter the root", errno);
        }
        if (chdir("/") < 0) child_fail(sock, "cannot enter the root", errno);
    }
    if (chdir(l->cwd && *l->cwd ? l->cwd : "/") < 0) child_fail(sock, "cannot enter the working directory", errno);
    if (l->set_user && (getuid() != l->uid || getgid() != l->gid)) {
        if (setgroups(0, NULL) < 0 && errno != EPERM) child_fail(sock, "cannot drop supplementary groups", errno);
        if (setresgid(l->gid, l->gid, l->gid) < 0) child_fail(sock, "cannot set the group", errno);
        if (setresuid(l->uid, l->uid, l->uid) < 0) child_fail(sock, "cannot set the user", errno);
        /* a change of credentials made us non-dumpable again */
        prctl(PR_SET_DUMPABLE, 1);
    }
    int listener = -1;
    int r = veil_shield_filter_install(&listener);
    if (r < 0) child_fail(sock, "cannot install the seccomp filter", -r);
    r = send_fd(sock, listener);
    if (r < 0) child_fail(sock, "cannot hand over the listener", -r);
    close(listener);
    close(sock);
    if (l->exec_fd >= 0)
        fexecve(l->exec_fd, (char *const *)l->argv, (char *const *)l->envp);
    else
        execve(l->argv[0], (char *const *)l->argv, (char *const *)l->envp);
    child_fail(sock, l->argv[0], errno);
}

int veil_shield_spawn(const struct veil_shield_launch *l, pid_t *ret_pid, int *ret_listener) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return veil_err(-errno, "socketpair");
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return veil_err(-errno, "cannot fork");
    }
    if (pid == 0) {
        close(sv[0]);
        child(l, sv[1]);
    }
    close(sv[1]);
    int listener = -1;
    int r = recv_fd(sv[0], &listener);
    close(sv[0]);
    if (r < 0) {
        /* the child said why on stderr; collect it */
        int status;
        waitpid(pid, &status, 0);
        return veil_err(-ECHILD, "the application could not be started");
    }
    *ret_pid = pid;
    *ret_listener = listener;
    return 0;
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

/* Our children by /proc (orphans of the application are re-parented to us, a subreaper). */
static size_t kill_children(pid_t self) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so start after the last ')' */
        char *p = strrchr(buf, ')');
        int ppid;
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != self) continue;
        kill((pid_t)atoi(e->d_name), SIGKILL);
        count++;
    }
    closedir(d);
    return count;
}

/*
 * When the application's main process is gone, what it left behind goes too
 * (as in a container, where the kernel kills everything when PID 1 exits):
 * without the supervisor those processes could not open a file anyway.
 */
static void kill_leftovers(void) {
    pid_t self = getpid();
    for (int round = 0; round < 100; round++) {
        size_t n = kill_children(self);
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
        if (n == 0) return;
        usleep(10000);
    }
}

int veil_shield_supervise(struct veil_shield *s, pid_t pid, unsigned writeback_seconds) {
    sigset_t set;
    forwarded_set(&set);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) return veil_log_errno(-errno, "cannot create a signalfd"), 1;
    int r;
    int code = -1;
    int timeout = writeback_seconds ? (int)writeback_seconds * 1000 : -1;
    while (code < 0) {
        struct pollfd pfd = { .fd = sfd, .events = POLLIN };
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) break;
        if (n == 0) {
            /* like the kernel's dirty-page writeback: changed copies go to disk every few seconds */
            r = veil_shield_flush(s, false);
            if (r >= 0) r = veil_shield_collect(s);
            if (r < 0) veil_log_warning("periodic writeback failed: %s", veil_err_describe(r));
            continue;
        }
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) != sizeof(si)) continue;
        if (si.ssi_signo != SIGCHLD) {
            kill(pid, (int)si.ssi_signo);
            continue;
        }
        /* reap everything: orphans of the application are re-parented to us */
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0) break;
            if (p == pid) code = exit_code(status);
        }
        if (code < 0) {
            /* a process exited: copies whose last user it was go back to disk now */
            r = veil_shield_collect(s);
            if (r < 0) veil_log_warning("writeback failed: %s", veil_err_describe(r));
        }
    }
    close(sfd);
    kill_leftovers();
    r = veil_shield_flush(s, true);
    if (r < 0) veil_log_error("final writeback failed: %s", veil_err_describe(r));
    veil_log_debug("%llu notifications served", (unsigned long long)veil_shield_notification_count(s));
    return code < 0 ? 1 : code;
}
