/* SPDX-License-Identifier: Apache-2.0 */
/* veil-run: verify the manifest, measure, then start the application under the supervisor and be its init. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/secbuf.h"
#include "crypto/hash.h"
#include "crypto/ossl-init.h"
#include "crypto/random.h"
#include "attest.h"
#include "filter.h"
#include "net-setup.h"
#include "casclient/casclient.h"
#include "launch.h"
#include "manifest/manifest.h"
#include "policy-manifest.h"
#include "supervisor.h"

extern char **environ;

#define WRITEBACK_SECONDS 5
#define MAX_ENV 4096

static struct veil_secbuf *image_key;

/* Milliseconds since veil-run started, for the start-up timings in the debug log. */
static double elapsed_ms(void) {
    static struct timespec start;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!start.tv_sec && !start.tv_nsec) start = now;
    return (double)(now.tv_sec - start.tv_sec) * 1e3 + (double)(now.tv_nsec - start.tv_nsec) / 1e6;
}

static const uint8_t *lookup_key(void *ctx, const char *name) {
    (void)ctx;
    /* development mode has exactly one key, the image key */
    if (image_key && !strcmp(name, VEIL_MANIFEST_IMAGE_KEY)) return image_key->data;
    return NULL;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: veil-run [--root DIR] [--dev-key-file FILE] [--expect-measurement HEX] [--expect-signer HEX]\n"
            "                [--sim-dir DIR] [--threads N] [--writeback-seconds N] [--dev-tls-dir DIR] [--verbose]\n"
            "Starts the application described by ROOT/veil/manifest under veil's file shield.\n"
            "The application's arguments and environment come from the signed manifest only.\n");
}

static int load_dev_key(const char *path) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot open the key file %s", path);
    struct veil_secbuf *k;
    int r = veil_secbuf_new(32, &k);
    if (r < 0) return r;
    uint8_t extra;
    ssize_t n = read(fd, k->data, 32);
    if (n != 32 || read(fd, &extra, 1) != 0) {
        veil_secbuf_free(k);
        return veil_err(-EBADMSG, "the key file %s must hold exactly 32 bytes", path);
    }
    image_key = k;
    return 0;
}

/* SHA-256 of our own executable, streamed through a small buffer (no 5 MB allocation to fault in). */
static int digest_self(uint8_t out[VEIL_SHA256_SIZE]) {
    _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot open my own executable");
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r < 0) return r;
    static uint8_t buf[256 << 10];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return veil_err(-errno, "cannot read my own executable");
        if (n == 0) break;
        if ((r = veil_hash_update(h, buf, (size_t)n)) < 0) return r;
    }
    return veil_hash_final(h, out);
}

/* SHA-256 of /proc/self/exe, computed on a thread while the manifest is loaded. */
struct self_digest {
    pthread_t thread;
    bool started;
    int result;
    uint8_t digest[VEIL_SHA256_SIZE];
};

static void *self_digest_thread(void *arg) {
    struct self_digest *d = arg;
    d->result = digest_self(d->digest);
    return NULL;
}

/* Every return from main waits for the thread: exit handlers (OpenSSL's cleanup) must not run under it. */
static void self_digest_joinp(struct self_digest *d) {
    if (d->started) pthread_join(d->thread, NULL);
    d->started = false;
}

static int check_expected(const char *what, const char *hex, const uint8_t actual[VEIL_SHA256_SIZE]);

/* Join the digest, compute and log the measurement, compare with what the caller expects. */
static int finish_measurement(struct self_digest *self, const struct veil_manifest *m, const char *expect_measurement,
                              const char *expect_signer, uint8_t ret_measurement[VEIL_SHA256_SIZE]) {
    if (self->started) {
        pthread_join(self->thread, NULL);
        self->started = false;
    } else {
        self->result = digest_self(self->digest);
    }
    uint8_t body[VEIL_SHA256_SIZE], measurement[VEIL_SHA256_SIZE], signer[VEIL_SHA256_SIZE];
    int r = self->result;
    if (r >= 0) {
        veil_manifest_digest(m, body);
        veil_manifest_signer_id(m, signer);
        r = veil_manifest_measurement(self->digest, body, measurement);
    }
    if (r < 0) {
        veil_log_error("refusing to start: cannot compute the measurement: %s", veil_err_describe(r));
        return r;
    }
    char mhex[2 * VEIL_SHA256_SIZE + 1], shex[2 * VEIL_SHA256_SIZE + 1];
    veil_hex_encode(measurement, sizeof(measurement), mhex);
    veil_hex_encode(signer, sizeof(signer), shex);
    veil_log_info("measurement %s signer %s", mhex, shex);
    veil_err_clear();
    if ((r = check_expected("measurement", expect_measurement, measurement)) < 0 ||
        (r = check_expected("signer", expect_signer, signer)) < 0) {
        veil_log_error("refusing to start: %s", veil_err_describe(r));
        return r;
    }
    if (ret_measurement) memcpy(ret_measurement, measurement, VEIL_SHA256_SIZE);
    return 0;
}

static int check_expected(const char *what, const char *hex, const uint8_t actual[VEIL_SHA256_SIZE]) {
    if (!hex) return 0;
    uint8_t want[VEIL_SHA256_SIZE];
    if (strlen(hex) != 2 * VEIL_SHA256_SIZE || veil_hex_decode(hex, want, sizeof(want)) < 0)
        return veil_err(-EINVAL, "--expect-%s needs 64 hex digits", what);
    if (!veil_memeq_ct(want, actual, sizeof(want))) return veil_err(-EACCES, "the %s does not match the expected one", what);
    return 0;
}

/* The application's environment: the manifest's entries, plus host variables the manifest names. */
static int build_env(const struct veil_manifest_config *cfg, const char ***ret) {
    size_t count = cfg->env_count + cfg->host_env_count + 1;
    if (count > MAX_ENV) return -E2BIG;
    const char **env = calloc(count, sizeof(*env));
    if (!env) return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < cfg->env_count; i++) env[n++] = cfg->env[i];
    for (size_t i = 0; i < cfg->host_env_count; i++) {
        const char *name = cfg->host_env[i];
        size_t len = strlen(name);
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, name, len) && (*e)[len] == '=') {
                env[n++] = *e;
                break;
            }
    }
    env[n] = NULL;
    *ret = env;
    return 0;
}

int main(int argc, char **argv) {
    /* keys and decrypted copies live in this process: keep root shells and core dumps out */
    prctl(PR_SET_DUMPABLE, 0);
    elapsed_ms();
    /* a closed log pipe must not kill the supervisor (the child restores the default) */
    signal(SIGPIPE, SIG_IGN);
    veil_log_setup_from_env("veil-run");
    veil_err_clear();
    int ossl = veil_ossl_init_isolated();
    if (ossl < 0) {
        veil_log_error("refusing to start: %s", veil_err_describe(ossl));
        return 1;
    }

    const char *root = "/", *key_file = NULL, *expect_measurement = NULL, *expect_signer = NULL, *sim_dir = NULL,
               *dev_tls_dir = NULL;
    unsigned threads = 2, writeback_seconds = WRITEBACK_SECONDS;
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' },
        { "dev-key-file", required_argument, NULL, 'k' },
        { "expect-measurement", required_argument, NULL, 'm' },
        { "expect-signer", required_argument, NULL, 's' },
        { "sim-dir", required_argument, NULL, 'S' },
        { "threads", required_argument, NULL, 't' },
        { "writeback-seconds", required_argument, NULL, 'w' },
        { "dev-tls-dir", required_argument, NULL, 'T' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    int c;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 'k': key_file = optarg; break;
        case 'm': expect_measurement = optarg; break;
        case 's': expect_signer = optarg; break;
        case 'S': sim_dir = optarg; break;
        case 'T': dev_tls_dir = optarg; break;
        case 't':
            threads = (unsigned)strtoul(optarg, NULL, 10);
            if (threads < 1 || threads > 64) {
                veil_log_error("--threads must be between 1 and 64");
                return 2;
            }
            break;
        case 'w':
            writeback_seconds = (unsigned)strtoul(optarg, NULL, 10);
            if (writeback_seconds < 1 || writeback_seconds > 3600) {
                veil_log_error("--writeback-seconds must be between 1 and 3600");
                return 2;
            }
            break;
        case 'v': veil_log_setup("veil-run", VEIL_LOG_DEBUG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        /* the host's command line never reaches the application */
        veil_log_error("unexpected argument '%s': the application's arguments come from the manifest", argv[optind]);
        return 2;
    }

    /*
     * Block the signals we forward (and SIGCHLD) before any thread exists: a
     * thread that did not block them would take them with their default action,
     * and a lost SIGCHLD would leave the app's exit unnoticed.
     */
    if (veil_shield_block_signals() < 0) return 1;
    /*
     * The measurement costs a hash of this 5 MB executable (1.5 ms of a 22 ms
     * Python start-up, competing with the app for the CPUs): computed only when
     * something checks it (attestation, --expect-*) or -v asks for it to be
     * logged. `veil inspect` prints it without running anything.
     */
    bool report = veil_log_get_level() >= VEIL_LOG_DEBUG;
    _cleanup_(self_digest_joinp) struct self_digest self = { .started = false };
    if (expect_measurement || expect_signer || report)
        self.started = pthread_create(&self.thread, NULL, self_digest_thread, &self) == 0;

    char manifest_path[PATH_MAX];
    snprintf(manifest_path, sizeof(manifest_path), "%s%s", strcmp(root, "/") ? root : "", VEIL_MANIFEST_PATH);
    _cleanup_(veil_manifest_freep) struct veil_manifest *m = NULL;
    veil_err_clear();
    int r = veil_manifest_load_file(manifest_path, &m);
    if (r < 0) {
        veil_log_error("refusing to start: manifest %s: %s", manifest_path, veil_err_describe(r));
        return 1;
    }
    veil_log_debug("%.1f ms: manifest verified and loaded", elapsed_ms());
    /* with nothing to compare against, the measurement is only reported: let the app start meanwhile */
    const struct veil_manifest_config *cfg = veil_manifest_config(m);
    bool attesting = cfg->attest_address && *cfg->attest_address;
    bool must_check = expect_measurement || expect_signer || attesting;
    uint8_t measurement[VEIL_SHA256_SIZE];
    if (must_check && finish_measurement(&self, m, expect_measurement, expect_signer, measurement) < 0) return 1;

    /* the manifest names an attestation service: keys, secrets and configuration come from it alone */
    _cleanup_(veil_shield_attest_freep) struct veil_shield_attest *attest = NULL;
    if (attesting) {
        if (key_file) {
            veil_log_error("refusing to start: the manifest names an attestation service; --dev-key-file is for images without one");
            return 1;
        }
        veil_casclient_use_wiping_allocator();
        struct veil_attest_options tee = { .tee = sim_dir ? VEIL_TEE_SIM : 0, .sim_dir = sim_dir };
        if (sim_dir) veil_log_warning("DEVELOPMENT MODE: sim TEE evidence from %s proves nothing about memory protection", sim_dir);
        veil_err_clear();
        r = veil_shield_attest_start(m, root, measurement, &tee, &attest);
        if (r < 0) {
            veil_log_error("refusing to start: attestation failed: %s", veil_err_describe(r));
            return 1;
        }
    }

    if (key_file) {
        veil_log_warning("DEVELOPMENT MODE: the image key comes from %s, not from attestation. "
                         "Anyone who can read that file can read the application's encrypted data.", key_file);
        r = load_dev_key(key_file);
        if (r < 0) {
            veil_log_error("refusing to start: %s", veil_err_describe(r));
            return 1;
        }
    }
    for (size_t i = 0; i < veil_manifest_key_count(m) && !attest; i++)
        if (!lookup_key(NULL, veil_manifest_key_at(m, i))) {
            veil_log_error("refusing to start: the manifest needs the key '%s' and none was provided "
                           "(development: --dev-key-file FILE)", veil_manifest_key_at(m, i));
            return 1;
        }

    if (cfg->argc < 1) {
        veil_log_error("refusing to start: the manifest has no entrypoint");
        return 1;
    }
    _cleanup_secbuf_ struct veil_secbuf *ephemeral = NULL;
    r = veil_secbuf_new(32, &ephemeral);
    if (r >= 0) r = veil_random(ephemeral->data, 32);
    if (r < 0) {
        veil_log_errno(r, "cannot make the ephemeral key");
        return 1;
    }

    struct veil_shield_policy manifest_policy = veil_shield_manifest_policy(m);
    struct veil_shield_policy policy = attest ? veil_shield_attest_policy(attest, &manifest_policy) : manifest_policy;
    struct veil_shield_options o = {
        .root = root,
        .policy = &policy,
        .key = attest ? veil_shield_attest_key : lookup_key,
        .key_ctx = attest,
        .vault_hooks = attest ? veil_shield_attest_vault_hooks(attest) : NULL,
        .ephemeral_key = ephemeral->data,
        .threads = threads,
        .sync_wakeup = getenv("VEIL_SHIELD_NO_SYNC_WAKEUP") == NULL,
        /* as root we serve an app of another user by taking its ids per thread; a developer's
           unprivileged --root maps the app's user onto the developer's own ids instead */
        .switch_ids = getuid() == 0 && (cfg->uid != 0 || cfg->gid != 0),
        .app_uid = cfg->uid,
        .app_gid = cfg->gid,
    };
    /* the image's network rules: attested TLS on named ports and destinations (net-setup.c) */
    veil_err_clear();
    if (dev_tls_dir && attest) {
        veil_log_error("refusing to start: the manifest names an attestation service; --dev-tls-dir is for images without one");
        return 1;
    }
    r = veil_shield_net_setup(m, root, &policy, dev_tls_dir, &o.nettls);
    if (r < 0) {
        veil_log_error("refusing to start: network: %s", veil_err_describe(r));
        return 1;
    }
    if (o.nettls) veil_shield_filter_mediate_network();
    struct veil_shield *s;
    veil_err_clear();
    r = veil_shield_new(&o, &s);
    if (r < 0) {
        veil_log_error("cannot set up the supervisor: %s", veil_err_describe(r));
        return 1;
    }
    const char *cwd = cfg->cwd && *cfg->cwd ? cfg->cwd : "/";
    veil_err_clear();
    _cleanup_close_ int exec_fd = -1;
    r = veil_shield_verify_exec(s, cwd, cfg->argv[0], &exec_fd);
    if (r < 0) {
        veil_log_error("refusing to start %s: %s", cfg->argv[0], veil_err_describe(r));
        return 1;
    }
    veil_log_debug("%.1f ms: %s and its interpreter verified", elapsed_ms(), cfg->argv[0]);

    _cleanup_free_ const char **env = NULL, **attested_env = NULL, **attested_argv = NULL;
    r = build_env(cfg, &env);
    if (r >= 0 && attest) r = veil_shield_attest_env(attest, env, &attested_env);
    if (r >= 0 && attest) r = veil_shield_attest_argv(attest, cfg, &attested_argv);
    if (r < 0) {
        veil_log_errno(r, "cannot build the environment");
        return 1;
    }
    /* orphans of the application come back to us to be reaped (we are PID 1 in a container anyway) */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct veil_shield_launch l = {
        .root = root,
        .exec_fd = exec_fd,
        .argv = attested_argv ? attested_argv : cfg->argv,
        .envp = attested_env ? attested_env : env,
        .cwd = cwd,
        .set_user = true,
        .uid = cfg->uid,
        .gid = cfg->gid,
    };
    pid_t pid;
    int listener;
    veil_err_clear();
    r = veil_shield_spawn(&l, &pid, &listener);
    if (r < 0) {
        veil_log_error("cannot start %s: %s", cfg->argv[0], veil_err_describe(r));
        return 127;
    }
    if (attest) veil_shield_attest_wipe_plain(attest); /* the child holds its own copy */
    if (exec_fd >= 0) close(TAKE_FD(exec_fd));        /* so does it of an encrypted entrypoint */
    r = veil_shield_serve(s, listener);
    if (r < 0) {
        veil_log_error("cannot start the supervisor: %s", veil_err_describe(r));
        kill(pid, SIGKILL);
        return 1;
    }
    veil_log_debug("%.1f ms: application started", elapsed_ms());
    if (!must_check && report && finish_measurement(&self, m, NULL, NULL, NULL) < 0) {
        kill(pid, SIGKILL);
        return 1;
    }
    veil_log_debug("%.1f ms: measurement computed", elapsed_ms());
    int code = veil_shield_supervise(s, pid, writeback_seconds);
    veil_log_debug("%.1f ms: application exited", elapsed_ms());
    /*
     * Leave without running any cleanup: processes the app left behind may
     * still be calling, and the receiving threads use the manifest, the keys
     * and OpenSSL until the very end. exit_group() stops them all at once.
     */
    _exit(code);
}
