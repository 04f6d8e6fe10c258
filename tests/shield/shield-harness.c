/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a command under the supervisor with a hand-built policy table (tests and development, no manifest). */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "crypto/random.h"
#include "shield/launch.h"
#include "shield/policy.h"
#include "shield/supervisor.h"

extern char **environ;

static struct veil_shield_table *table;
static size_t root_size;
static int walk_error;

static int add_object(const char *host, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    const char *path = host + root_size;
    if (!*path) path = "/";
    struct veil_shield_verdict v = { .mode = st->st_mode & 07777 };
    int r = 0;
    if (type == FTW_D || type == FTW_DNR) {
        v.class = VEIL_SHIELD_DIRECTORY;
        r = veil_shield_table_add_entry(table, path, &v);
    } else if (type == FTW_SL || type == FTW_SLN) {
        char target[PATH_MAX];
        ssize_t n = readlink(host, target, sizeof(target) - 1);
        if (n < 0) return 0;
        target[n] = 0;
        v.class = VEIL_SHIELD_SYMLINK;
        v.target = target;
        r = veil_shield_table_add_entry(table, path, &v);
    } else if (type == FTW_F && S_ISREG(st->st_mode)) {
        r = veil_shield_table_add_trusted_file(table, path, host);
    }
    if (r < 0) {
        fprintf(stderr, "shield-harness: %s: %s\n", path, veil_err_describe(r));
        walk_error = 1;
    }
    return 0;
}

/* Every directory above a trusted subtree is an image directory too. */
static void add_parents(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    struct veil_shield_verdict v = { .class = VEIL_SHIELD_DIRECTORY, .mode = 0755 };
    if (veil_shield_table_add_entry(table, "/", &v) < 0) walk_error = 1;
    for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        if (veil_shield_table_add_entry(table, buf, &v) < 0) walk_error = 1;
        *p = '/';
    }
}

static const uint8_t *image_key;
static const uint8_t *lookup_key(void *ctx, const char *name) {
    (void)ctx;
    return !strcmp(name, "image") ? image_key : NULL;
}

int main(int argc, char **argv) {
    veil_log_setup_from_env("veil-run");
    const char *root = "/", *cwd = NULL, *key_file = NULL;
    unsigned threads = 2;
    char *trust[256];
    size_t trust_count = 0;
    int r = veil_shield_table_new(&table);
    if (r < 0) return 1;
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' },        { "trust", required_argument, NULL, 't' },
        { "passthrough", required_argument, NULL, 'p' }, { "encrypt", required_argument, NULL, 'e' },
        { "ephemeral", required_argument, NULL, 'm' },   { "key", required_argument, NULL, 'k' },
        { "threads", required_argument, NULL, 'n' },     { "cwd", required_argument, NULL, 'c' },
        { "secret", required_argument, NULL, 's' },
        {},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 't':
            if (trust_count < ELEMENTSOF(trust)) trust[trust_count++] = optarg;
            break;
        case 'p': r = veil_shield_table_add_rule(table, optarg, VEIL_SHIELD_PASSTHROUGH, NULL); break;
        case 'e': r = veil_shield_table_add_rule(table, optarg, VEIL_SHIELD_ENCRYPTED, "image"); break;
        case 'm': r = veil_shield_table_add_rule(table, optarg, VEIL_SHIELD_EPHEMERAL, NULL); break;
        case 'k': key_file = optarg; break;
        case 'n': threads = (unsigned)atoi(optarg); break;
        case 'c': cwd = optarg; break;
        case 's': { /* PATH=VALUE: a memory-only file */
            char *eq = strchr(optarg, '=');
            if (!eq) return 2;
            *eq = 0;
            struct veil_shield_verdict v = { .class = VEIL_SHIELD_SECRET, .mode = 0400,
                                             .secret = (const uint8_t *)eq + 1, .secret_size = strlen(eq + 1) };
            r = veil_shield_table_add_entry(table, optarg, &v);
            break;
        }
        default: return 2;
        }
        if (r < 0) return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: shield-harness [OPTIONS] -- COMMAND [ARGS]\n");
        return 2;
    }
    char real_root[PATH_MAX];
    if (!realpath(root, real_root)) return 1;
    root_size = strcmp(real_root, "/") ? strlen(real_root) : 0;
    for (size_t i = 0; i < trust_count; i++) {
        char host[PATH_MAX];
        snprintf(host, sizeof(host), "%s%s", root_size ? real_root : "", trust[i]);
        add_parents(trust[i]);
        if (nftw(host, add_object, 64, FTW_PHYS) < 0) {
            fprintf(stderr, "shield-harness: cannot walk %s: %m\n", host);
            return 1;
        }
    }
    if (walk_error) return 1;
    veil_shield_table_seal(table);
    struct veil_shield_policy policy = veil_shield_table_policy(table);

    uint8_t key[32], eph[32];
    if (key_file) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        if (veil_read_file(key_file, 64, &data, &size) < 0 || size != 32) {
            fprintf(stderr, "shield-harness: bad key file\n");
            return 1;
        }
        memcpy(key, data, 32);
        image_key = key;
    }
    if (veil_random(eph, sizeof(eph)) < 0) return 1;

    prctl(PR_SET_DUMPABLE, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct veil_shield_options o = {
        .root = real_root, .policy = &policy, .key = lookup_key, .ephemeral_key = eph, .threads = threads,
    };
    struct veil_shield *s;
    r = veil_shield_new(&o, &s);
    if (r < 0) {
        veil_log_errno(r, "cannot set up the supervisor");
        return 1;
    }
    if (veil_shield_block_signals() < 0) return 1;
    char here[PATH_MAX];
    if (!cwd) cwd = root_size ? "/" : getcwd(here, sizeof(here));
    struct veil_shield_launch l = {
        .root = real_root, .exec_fd = -1, .argv = (const char *const *)argv + optind, .envp = (const char *const *)environ, .cwd = cwd,
    };
    pid_t pid;
    int listener;
    r = veil_shield_spawn(&l, &pid, &listener);
    if (r < 0) {
        veil_log_errno(r, "cannot start %s", argv[optind]);
        return 127;
    }
    r = veil_shield_serve(s, listener);
    if (r < 0) {
        veil_log_errno(r, "cannot serve");
        return 1;
    }
    _exit(veil_shield_supervise(s, pid, 5)); /* no cleanup while receivers may still run */
}
