/* SPDX-License-Identifier: Apache-2.0 */
/* `veil wrap`: converts a container image into a measured, signed, partly encrypted veil image. */
#include <ctype.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "casclient/casclient.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "command.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "image/image.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: veil wrap INPUT -k SIGNER.pem -o OUTPUT [OPTIONS]\n"
            "\n"
            "INPUT: an OCI image layout directory, an OCI archive, a docker-archive, or a root\n"
            "file system directory (which needs --entrypoint). OUTPUT: an OCI archive; with\n"
            "--format docker-archive a docker archive; ending in '/' (or --format dir) a directory.\n"
            "\n"
            "  -k, --signer FILE        signing key (veil keygen)\n"
            "  -o, --output PATH        output archive or directory (must not exist for a directory)\n"
            "      --format F           oci-archive (default), docker-archive or dir\n"
            "  -t, --tag NAME           image name in the archive (default localhost/<output name>:latest)\n"
            "      --encrypt PATH       encrypt files below PATH with the image key (repeatable)\n"
            "      --passthrough PATH   leave PATH to the host, unmediated (repeatable)\n"
            "      --volume PATH=NAME   an encrypted volume under the key NAME from the attestation service (repeatable)\n"
            "      --key-out FILE       where the new image key goes (default OUTPUT.key, mode 0600)\n"
            "      --key FILE           reuse an existing image key (for reproducible output)\n"
            "      --entrypoint PATH    the program to start (overrides the image's Entrypoint and Cmd)\n"
            "      --arg ARG            an argument (repeatable; replaces the image's Cmd)\n"
            "  -e, --env NAME=VALUE     set an environment variable (repeatable)\n"
            "      --host-env NAME      let the host's NAME through at run time (repeatable)\n"
            "  -w, --workdir DIR        working directory\n"
            "  -u, --user USER[:GROUP]  user (name or id) to run as\n"
            "      --attest ADDRESS     attestation service: 'HOST:PORT key=sha256:HEX' (its TLS key)\n"
            "                           or 'HOST:PORT measurement=HEX' (its RA-TLS measurement)\n"
            "      --policy P/S         policy and service name at the attestation service\n"
            "      --product-id N       product id recorded in the manifest\n"
            "      --svn N              security version recorded in the manifest\n"
            "      --runtime PATH       veil-run to add (default: $VEIL_RUNTIME, then next to veil)\n"
            "  -q, --quiet              no summary, no progress\n");
}

struct strv {
    const char **v;
    size_t count;
};

static int push(struct strv *s, const char *x) {
    const char **v = realloc(s->v, (s->count + 1) * sizeof(char *));
    if (!v) return -1;
    s->v = v;
    v[s->count++] = x;
    return 0;
}

static int fail(int r) {
    fprintf(stderr, "veil wrap: %s\n", veil_err_describe(r));
    return 1;
}

static bool parse_u32(const char *s, uint32_t *ret) {
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end || v > UINT32_MAX || s[0] == '-') return false;
    *ret = (uint32_t)v;
    return true;
}

/* "localhost/<output file name without .tar, lowercased>:latest" */
static char *default_tag(const char *output) {
    char *copy = strdup(output);
    if (!copy) return NULL;
    while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/') copy[strlen(copy) - 1] = 0;
    char *base = basename(copy);
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".tar")) base[n - 4] = 0;
    for (char *p = base; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_') *p = '-';
    }
    char *tag;
    if (asprintf(&tag, "localhost/%s:latest", *base && *base != '.' ? base : "veil-image") < 0) tag = NULL;
    free(copy);
    return tag;
}

static int load_image_key(const char *path, struct veil_secbuf **ret) {
    uint8_t *data = NULL;
    size_t size = 0;
    int r = veil_read_file(path, 64, &data, &size);
    if (r < 0) return veil_err(r, "cannot read image key %s", path);
    if (size != VEIL_IMAGE_KEY_SIZE)
        r = veil_err(-EINVAL, "%s is not an image key (32 raw bytes)", path);
    else
        r = veil_secbuf_dup(data, size, ret);
    veil_wipe(data, size);
    free(data);
    return r;
}

int veil_cmd_wrap(int argc, char **argv) {
    enum { OPT_FORMAT = 256, OPT_ENCRYPT, OPT_PASSTHROUGH, OPT_VOLUME, OPT_KEY_OUT, OPT_KEY, OPT_ENTRYPOINT, OPT_ARG, OPT_HOST_ENV,
           OPT_ATTEST, OPT_POLICY, OPT_PRODUCT, OPT_SVN, OPT_RUNTIME };
    static const struct option options[] = {
        { "signer", required_argument, NULL, 'k' },
        { "output", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "tag", required_argument, NULL, 't' },
        { "encrypt", required_argument, NULL, OPT_ENCRYPT },
        { "passthrough", required_argument, NULL, OPT_PASSTHROUGH },
        { "volume", required_argument, NULL, OPT_VOLUME },
        { "key-out", required_argument, NULL, OPT_KEY_OUT },
        { "key", required_argument, NULL, OPT_KEY },
        { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
        { "arg", required_argument, NULL, OPT_ARG },
        { "env", required_argument, NULL, 'e' },
        { "host-env", required_argument, NULL, OPT_HOST_ENV },
        { "workdir", required_argument, NULL, 'w' },
        { "user", required_argument, NULL, 'u' },
        { "attest", required_argument, NULL, OPT_ATTEST },
        { "policy", required_argument, NULL, OPT_POLICY },
        { "product-id", required_argument, NULL, OPT_PRODUCT },
        { "svn", required_argument, NULL, OPT_SVN },
        { "runtime", required_argument, NULL, OPT_RUNTIME },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    struct veil_wrap_options o = { .progress = true };
    struct strv encrypt = { 0 }, passthrough = { 0 }, volumes = { 0 }, env = { 0 }, host_env = { 0 }, args = { 0 };
    const char *signer_path = NULL, *format = NULL, *key_in = NULL, *key_out = NULL;
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "k:o:t:e:w:u:qh", options, NULL)) >= 0) {
        int r = 0;
        switch (c) {
        case 'k': signer_path = optarg; break;
        case 'o': o.output = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case 't': o.tag = optarg; break;
        case OPT_ENCRYPT: r = push(&encrypt, optarg); break;
        case OPT_PASSTHROUGH: r = push(&passthrough, optarg); break;
        case OPT_VOLUME: r = push(&volumes, optarg); break;
        case OPT_KEY_OUT: key_out = optarg; break;
        case OPT_KEY: key_in = optarg; break;
        case OPT_ENTRYPOINT: o.entrypoint = optarg; break;
        case OPT_ARG:
            r = push(&args, optarg);
            o.args_set = true;
            break;
        case 'e': r = push(&env, optarg); break;
        case OPT_HOST_ENV: r = push(&host_env, optarg); break;
        case 'w': o.workdir = optarg; break;
        case 'u': o.user = optarg; break;
        case OPT_ATTEST: o.attest_address = optarg; break;
        case OPT_POLICY: o.attest_policy = optarg; break;
        case OPT_PRODUCT:
            if (!parse_u32(optarg, &o.product_id)) r = -1;
            break;
        case OPT_SVN:
            if (!parse_u32(optarg, &o.security_version)) r = -1;
            break;
        case OPT_RUNTIME: o.runtime = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (r < 0) {
            fprintf(stderr, "veil wrap: bad value for option %s\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind + 1 != argc || !signer_path || !o.output) {
        usage(stderr);
        return 2;
    }
    if (o.attest_address || o.attest_policy) {
        /* checked now, in veil-run's own parser: a typo must not surface only when the image starts */
        struct veil_casclient_target target;
        veil_err_clear();
        int tr = veil_casclient_target_parse(o.attest_address ? o.attest_address : "", o.attest_policy ? o.attest_policy : "",
                                             &target);
        if (tr < 0) {
            fprintf(stderr, "veil wrap: --attest/--policy: %s\n", veil_err_describe(tr));
            return 2;
        }
    }
    o.input = argv[optind];
    o.encrypt = encrypt.v, o.encrypt_count = encrypt.count;
    o.passthrough = passthrough.v, o.passthrough_count = passthrough.count;
    o.volumes = volumes.v, o.volume_count = volumes.count;
    o.env = env.v, o.env_count = env.count;
    o.host_env = host_env.v, o.host_env_count = host_env.count;
    o.args = args.v, o.arg_count = args.count;
    o.progress = !quiet;

    size_t out_len = strlen(o.output);
    if (!format)
        o.format = o.output[out_len - 1] == '/' ? VEIL_WRAP_DIR : VEIL_WRAP_OCI_ARCHIVE;
    else if (!strcmp(format, "oci-archive") || !strcmp(format, "oci"))
        o.format = VEIL_WRAP_OCI_ARCHIVE;
    else if (!strcmp(format, "docker-archive") || !strcmp(format, "docker"))
        o.format = VEIL_WRAP_DOCKER_ARCHIVE;
    else if (!strcmp(format, "dir"))
        o.format = VEIL_WRAP_DIR;
    else {
        fprintf(stderr, "veil wrap: unknown format '%s' (oci-archive, docker-archive, dir)\n", format);
        return 2;
    }

    veil_err_clear();
    _cleanup_free_ char *tag = NULL, *runtime = NULL, *default_key_out = NULL;
    if (!o.tag) {
        if (!(tag = default_tag(o.output))) return fail(-ENOMEM);
        o.tag = tag;
    }
    if (!o.runtime) {
        int r = veil_image_find_runtime(&runtime);
        if (r < 0) return fail(r);
        o.runtime = runtime;
    }
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *signer = NULL;
    int r = veil_key_load_private_pem(signer_path, &signer);
    if (r < 0) return fail(veil_err(r, "cannot load signer key %s", signer_path));
    o.signer = signer;

    /* the image key: reused (--key) or fresh, written to --key-out (default OUTPUT.key) */
    _cleanup_secbuf_ struct veil_secbuf *key = NULL;
    if (key_in)
        r = load_image_key(key_in, &key);
    else if ((r = veil_secbuf_new(VEIL_IMAGE_KEY_SIZE, &key)) >= 0)
        r = veil_random(key->data, VEIL_IMAGE_KEY_SIZE);
    if (r < 0) return fail(r);
    o.image_key = key->data;
    if (key_out)
        o.key_out = key_out;
    else if (!key_in) {
        if (asprintf(&default_key_out, "%.*s.key", (int)(o.output[out_len - 1] == '/' ? out_len - 1 : out_len), o.output) < 0)
            return fail(-ENOMEM);
        o.key_out = default_key_out;
    }
    if (o.key_out && encrypt.count) {
        struct stat st;
        if (lstat(o.key_out, &st) == 0) {
            fprintf(stderr, "veil wrap: %s already exists; refusing to overwrite a key (use --key to reuse it)\n", o.key_out);
            return 1;
        }
    }

    struct veil_wrap_result res;
    r = veil_image_wrap(&o, &res);
    free(encrypt.v);
    free(passthrough.v);
    free(volumes.v);
    free(env.v);
    free(host_env.v);
    free(args.v);
    if (r < 0) return fail(r);
    if (!quiet) {
        char m[65], s[65];
        veil_hex_encode(res.measurement, 32, m);
        veil_hex_encode(res.signer_id, 32, s);
        printf("wrote %s (%s)\n", o.output, o.format == VEIL_WRAP_DIR ? "directory" : o.tag);
        printf("measurement %s\nsigner      %s\n", m, s);
        printf("files       %zu trusted, %zu encrypted, %zu directories, %zu symlinks, %zu left to the host\n",
               res.trusted_count, res.encrypted_count, res.directory_count, res.symlink_count, res.unlisted_count);
        if (encrypt.count && o.key_out) printf("image key   %s (keep it secret; give it to the attestation service)\n", o.key_out);
    }
    return 0;
}
