/* SPDX-License-Identifier: Apache-2.0 */
/* Turns a root filesystem directory into a wrapped one for tests: encrypts chosen prefixes, writes a signed manifest. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "encfile/encfile.h"
#include "manifest/file-digest.h"
#include "manifest/manifest.h"

/*
 * The same job `veil wrap -o DIR/` does, kept deliberately small so that the
 * shield's tests do not depend on the image module: the defaults below are the
 * ones docs/manifest.md lists for `veil wrap`.
 */
static const char *const default_passthrough[] = { "/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname",
                                                   "/etc/resolv.conf" };
static const char *const default_ephemeral[] = { "/tmp", "/run", "/var/tmp" };

static struct veil_manifest_builder *builder;
static const char *encrypt[64], *passthrough[64];
static size_t encrypt_count, passthrough_count;
static size_t root_size;
static uint8_t image_key[32];
static int failed;

static bool under(const char *path, const char *const *list, size_t count) {
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(list[i]);
        if (!strncmp(path, list[i], n) && (path[n] == 0 || path[n] == '/')) return true;
    }
    return false;
}

static int add_object(const char *host, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    const char *path = host + root_size;
    if (!*path) path = "/";
    if (under(path, (const char *const[]){ "/veil" }, 1) || under(path, passthrough, passthrough_count) ||
        under(path, default_passthrough, ELEMENTSOF(default_passthrough)) ||
        under(path, default_ephemeral, ELEMENTSOF(default_ephemeral)))
        return 0;
    struct veil_manifest_entry e = {
        .path = path, .mode = st->st_mode & 07777, .uid = st->st_uid, .gid = st->st_gid,
    };
    char target[PATH_MAX];
    _cleanup_free_ uint8_t *data = NULL;
    int r = 0;
    if (type == FTW_D) {
        e.class = VEIL_MANIFEST_DIRECTORY;
    } else if (type == FTW_SL || type == FTW_SLN) {
        ssize_t n = readlink(host, target, sizeof(target) - 1);
        if (n < 0) return 0;
        target[n] = 0;
        e.class = VEIL_MANIFEST_SYMLINK;
        e.target = target;
        e.size = (uint64_t)n;
    } else if (type == FTW_F && S_ISREG(st->st_mode)) {
        size_t size;
        r = veil_read_file(host, (size_t)1 << 31, &data, &size);
        if (r >= 0) r = veil_file_digest(data, size, e.sha256);
        e.size = size;
        e.class = VEIL_MANIFEST_TRUSTED;
        if (r >= 0 && under(path, encrypt, encrypt_count)) {
            e.class = VEIL_MANIFEST_ENCRYPTED;
            e.key_name = VEIL_MANIFEST_IMAGE_KEY;
            r = veil_encfile_store(host, image_key, path, 1, data, size, st->st_mode & 07777);
        }
    } else {
        return 0; /* devices, fifos, sockets are not image contents */
    }
    if (r >= 0) r = veil_manifest_builder_add_entry(builder, &e);
    if (r < 0) {
        fprintf(stderr, "shield-mkimage: %s: %s\n", path, veil_err_describe(r));
        failed = 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *entry_args[256];
    size_t arg_count = 0;
    const char *env[256];
    size_t env_count = 0;
    const char *cwd = "/", *key_out = NULL, *key_in = NULL, *runtime = NULL;
    uint32_t uid = 0, gid = 0;
    if (veil_manifest_builder_new(&builder) < 0) return 1;
    static const struct option opts[] = {
        { "arg", required_argument, NULL, 'a' },      { "env", required_argument, NULL, 'e' },
        { "host-env", required_argument, NULL, 'h' }, { "cwd", required_argument, NULL, 'c' },
        { "encrypt", required_argument, NULL, 'x' },  { "passthrough", required_argument, NULL, 'p' },
        { "key-out", required_argument, NULL, 'k' },  { "key", required_argument, NULL, 'K' },
        { "runtime", required_argument, NULL, 'r' },  { "user", required_argument, NULL, 'u' },
        {},
    };
    int c, r = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': if (arg_count < 256) entry_args[arg_count++] = optarg; break;
        case 'e': if (env_count < 256) env[env_count++] = optarg; break;
        case 'h': r = veil_manifest_builder_add_host_env(builder, optarg); break;
        case 'c': cwd = optarg; break;
        case 'x': if (encrypt_count < 64) encrypt[encrypt_count++] = optarg; break;
        case 'p': if (passthrough_count < 64) passthrough[passthrough_count++] = optarg; break;
        case 'k': key_out = optarg; break;
        case 'K': key_in = optarg; break;
        case 'r': runtime = optarg; break;
        case 'u': if (sscanf(optarg, "%u:%u", &uid, &gid) != 2) return 2; break;
        default: return 2;
        }
        if (r < 0) return 1;
    }
    if (optind + 1 != argc || arg_count == 0 || !runtime) {
        fprintf(stderr, "usage: shield-mkimage --arg EXE [--arg A]... [--env K=V]... [--encrypt P]... "
                        "--runtime VEIL-RUN [--key FILE | --key-out FILE] DIR\n");
        return 2;
    }
    char root[PATH_MAX];
    if (!realpath(argv[optind], root)) return 1;
    root_size = strlen(root);

    if (key_in) {
        _cleanup_free_ uint8_t *k = NULL;
        size_t ks;
        if (veil_read_file(key_in, 64, &k, &ks) < 0 || ks != 32) return 1;
        memcpy(image_key, k, 32);
    } else {
        if (veil_random(image_key, 32) < 0) return 1;
        if (key_out && veil_write_file_atomic(key_out, image_key, 32, 0600) < 0) return 1;
    }

    if ((r = veil_manifest_builder_set_argv(builder, entry_args, arg_count)) < 0 ||
        (r = veil_manifest_builder_set_env(builder, env, env_count)) < 0 ||
        (r = veil_manifest_builder_set_cwd(builder, cwd)) < 0)
        return 1;
    veil_manifest_builder_set_user(builder, uid, gid);
    for (size_t i = 0; i < ELEMENTSOF(default_passthrough); i++)
        if ((r = veil_manifest_builder_add_rule(builder, default_passthrough[i], VEIL_MANIFEST_PASSTHROUGH, NULL)) < 0)
            return 1;
    for (size_t i = 0; i < passthrough_count; i++)
        if ((r = veil_manifest_builder_add_rule(builder, passthrough[i], VEIL_MANIFEST_PASSTHROUGH, NULL)) < 0) return 1;
    for (size_t i = 0; i < ELEMENTSOF(default_ephemeral); i++)
        if ((r = veil_manifest_builder_add_rule(builder, default_ephemeral[i], VEIL_MANIFEST_EPHEMERAL, NULL)) < 0)
            return 1;
    for (size_t i = 0; i < encrypt_count; i++)
        if ((r = veil_manifest_builder_add_rule(builder, encrypt[i], VEIL_MANIFEST_ENCRYPTED,
                                                VEIL_MANIFEST_IMAGE_KEY)) < 0)
            return 1;

    if (nftw(root, add_object, 64, FTW_PHYS) < 0 || failed) {
        fprintf(stderr, "shield-mkimage: cannot walk %s\n", root);
        return 1;
    }
    _cleanup_free_ uint8_t *body = NULL, *signed_data = NULL;
    size_t body_size, signed_size;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *signer = NULL;
    if ((r = veil_manifest_builder_encode(builder, &body, &body_size)) < 0 ||
        (r = veil_key_generate(VEIL_KEY_ED25519, &signer)) < 0 ||
        (r = veil_manifest_sign(body, body_size, signer, &signed_data, &signed_size)) < 0) {
        fprintf(stderr, "shield-mkimage: %s\n", veil_err_describe(r));
        return 1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/veil", root);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return 1;
    snprintf(path, sizeof(path), "%s/veil/manifest", root);
    if ((r = veil_write_file_atomic(path, signed_data, signed_size, 0644)) < 0) return 1;
    _cleanup_free_ uint8_t *exe = NULL;
    size_t exe_size;
    snprintf(path, sizeof(path), "%s/veil/veil-run", root);
    if ((r = veil_read_file(runtime, (size_t)64 << 20, &exe, &exe_size)) < 0 ||
        (r = veil_write_file_atomic(path, exe, exe_size, 0755)) < 0) {
        fprintf(stderr, "shield-mkimage: cannot install veil-run: %s\n", veil_err_describe(r));
        return 1;
    }
    veil_manifest_builder_free(builder);
    return 0;
}
