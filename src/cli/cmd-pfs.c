/* SPDX-License-Identifier: Apache-2.0 */
/* `veil pfs keygen|encrypt|decrypt|verify|info`: the encrypted file format from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "command.h"
#include "output-arg.h"
#include "crypto/random.h"
#include "encfile/encfile.h"

#define DECRYPT_CHUNK ((size_t)8 << 20)

static void usage(FILE *out) {
    fprintf(out,
            "usage: veil pfs keygen -o KEYFILE\n"
            "       veil pfs encrypt --key KEYFILE --path LOGICAL [--version N] PLAIN ENCRYPTED\n"
            "       veil pfs decrypt --key KEYFILE --path LOGICAL [--version N] ENCRYPTED PLAIN\n"
            "       veil pfs verify  --key KEYFILE --path LOGICAL [--version N] ENCRYPTED\n"
            "       veil pfs info   [--key KEYFILE --path LOGICAL [--version N]] ENCRYPTED\n"
            "\n"
            "KEYFILE holds 32 raw bytes. LOGICAL is the path the file is bound to (e.g. /data/x).\n"
            "--version N sets the version written by encrypt, and pins it on decrypt/verify/info:\n"
            "any other version is refused (rollback).\n");
}

/* "veil pfs: WHAT: why" on stderr; returns exit status 1. */
static int fail(const char *what, int r) {
    const char *msg = veil_err_msg();
    if (!msg[0] || !strcmp(msg, what))
        fprintf(stderr, "veil pfs: %s: %s\n", what, strerror(-r));
    else if (r == -EACCES || r == -EBADMSG || r == -EINVAL || r == -EISDIR)
        /* the detail is the whole story ("integrity check failed at data node 3 ...") */
        fprintf(stderr, "veil pfs: %s: %s\n", what, msg);
    else
        fprintf(stderr, "veil pfs: %s: %s: %s\n", what, msg, strerror(-r));
    return 1;
}

static int load_key(const char *path, struct veil_secbuf **ret) {
    uint8_t *data = NULL;
    size_t size = 0;
    veil_err_clear();
    int r = veil_read_file(path, 64, &data, &size);
    if (r < 0) return r == -EFBIG ? veil_err(-EINVAL, "not a key file (must be 32 raw bytes)") : r;
    if (size != VEIL_ENCFILE_KEY_SIZE)
        r = veil_err(-EINVAL, "not a key file (must be exactly 32 raw bytes, has %zu)", size);
    else
        r = veil_secbuf_dup(data, size, ret);
    veil_wipe(data, size);
    free(data);
    return r;
}

static int cmd_keygen(int argc, char **argv) {
    const char *out;
    int exit_code;
    if (!veil_cli_output_arg(argc, argv, usage, &out, &exit_code)) return exit_code;
    struct stat st;
    if (lstat(out, &st) == 0) {
        fprintf(stderr, "veil pfs: %s: already exists; refusing to overwrite a key\n", out);
        return 1;
    }
    _cleanup_secbuf_ struct veil_secbuf *key = NULL;
    veil_err_clear();
    int r = veil_secbuf_new(VEIL_ENCFILE_KEY_SIZE, &key);
    if (r >= 0) r = veil_random(key->data, key->size);
    if (r >= 0) r = veil_write_file_atomic(out, key->data, key->size, 0600);
    if (r < 0) return fail(out, r);
    return 0;
}

struct pfs_args {
    const char *key_path;
    const char *logical_path;
    uint64_t version;
    bool has_version;
    const char *files[2];
    int file_count;
};

static int parse_version(const char *s, uint64_t *ret) {
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-') return -EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -EINVAL;
    *ret = v;
    return 0;
}

/* Parses the common options; `files` positional arguments are required. Returns an exit code, or -1 to go on. */
static int parse_args(int argc, char **argv, int files, bool key_required, struct pfs_args *ret) {
    static const struct option options[] = {
        { "key", required_argument, NULL, 'k' },
        { "path", required_argument, NULL, 'p' },
        { "version", required_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    struct pfs_args a = { 0 };
    int c;
    while ((c = getopt_long(argc, argv, "k:p:h", options, NULL)) >= 0) {
        switch (c) {
        case 'k': a.key_path = optarg; break;
        case 'p': a.logical_path = optarg; break;
        case 'V':
            if (parse_version(optarg, &a.version) < 0) {
                fprintf(stderr, "veil pfs: --version wants a non-negative integer, got '%s'\n", optarg);
                return 2;
            }
            a.has_version = true;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != files || (key_required && (!a.key_path || !a.logical_path)) ||
        (!!a.key_path != !!a.logical_path)) {
        usage(stderr);
        return 2;
    }
    if (a.logical_path && (a.logical_path[0] != '/' || strlen(a.logical_path) > VEIL_ENCFILE_PATH_MAX)) {
        fprintf(stderr, "veil pfs: --path must be an absolute path of at most %d bytes\n", VEIL_ENCFILE_PATH_MAX);
        return 2;
    }
    for (int i = 0; i < files; i++) a.files[i] = argv[optind + i];
    a.file_count = files;
    *ret = a;
    return -1;
}

static int cmd_encrypt(int argc, char **argv) {
    struct pfs_args a;
    int status = parse_args(argc, argv, 2, true, &a);
    if (status >= 0) return status;
    _cleanup_secbuf_ struct veil_secbuf *key = NULL;
    int r = load_key(a.key_path, &key);
    if (r < 0) return fail(a.key_path, r);

    veil_err_clear();
    _cleanup_close_ int in = open(a.files[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in < 0) return fail(a.files[0], -errno);
    struct stat st;
    if (fstat(in, &st) < 0) return fail(a.files[0], -errno);
    if (S_ISDIR(st.st_mode)) return fail(a.files[0], veil_err(-EISDIR, "is a directory"));
    if (!S_ISREG(st.st_mode)) return fail(a.files[0], veil_err(-EINVAL, "not a regular file"));

    veil_err_clear();
    r = veil_encfile_store_fd(a.files[1], key->data, a.logical_path, a.has_version ? a.version : 1, in, 0600);
    if (r < 0) return fail(a.files[1], r);
    return 0;
}

static int open_encrypted(const struct pfs_args *a, struct veil_secbuf **ret_key, struct veil_encfile **ret) {
    int r = load_key(a->key_path, ret_key);
    if (r < 0) return fail(a->key_path, r);
    veil_err_clear();
    r = veil_encfile_open(a->files[0], (*ret_key)->data, a->logical_path, VEIL_ENCFILE_READ,
                          a->has_version ? &a->version : NULL, ret);
    if (r < 0) return fail(a->files[0], r);
    return -1;
}

static int cmd_decrypt(int argc, char **argv) {
    struct pfs_args a;
    int status = parse_args(argc, argv, 2, true, &a);
    if (status >= 0) return status;
    _cleanup_secbuf_ struct veil_secbuf *key = NULL, *chunk = NULL;
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    status = open_encrypted(&a, &key, &f);
    if (status >= 0) return status;

    int r = veil_secbuf_new(DECRYPT_CHUNK, &chunk);
    if (r < 0) return fail(a.files[1], r);
    struct veil_atomic_file out;
    veil_err_clear();
    r = veil_atomic_begin(a.files[1], 0600, &out);
    if (r < 0) return fail(a.files[1], r);
    /* the output appears only once every node verified: a failure leaves no file behind */
    for (uint64_t offset = 0; offset < veil_encfile_size(f);) {
        veil_err_clear();
        ssize_t n = veil_encfile_pread(f, chunk->data, DECRYPT_CHUNK, offset);
        if (n <= 0) {
            veil_atomic_abort(&out);
            return fail(a.files[0], n < 0 ? (int)n : veil_err(-EIO, "unexpected end of file"));
        }
        r = veil_write_all(out.fd, chunk->data, (size_t)n);
        if (r < 0) {
            veil_atomic_abort(&out);
            return fail(a.files[1], r);
        }
        offset += (uint64_t)n;
    }
    veil_err_clear();
    r = veil_atomic_commit(&out);
    if (r < 0) return fail(a.files[1], r);
    return 0;
}

static int cmd_verify(int argc, char **argv) {
    struct pfs_args a;
    int status = parse_args(argc, argv, 1, true, &a);
    if (status >= 0) return status;
    _cleanup_secbuf_ struct veil_secbuf *key = NULL;
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    status = open_encrypted(&a, &key, &f);
    if (status >= 0) return status;
    veil_err_clear();
    int r = veil_encfile_verify(f);
    if (r < 0) return fail(a.files[0], r);
    printf("%s: OK (version %" PRIu64 ", %" PRIu64 " bytes)\n", a.files[0], veil_encfile_version(f), veil_encfile_size(f));
    return 0;
}

static int cmd_info(int argc, char **argv) {
    struct pfs_args a;
    int status = parse_args(argc, argv, 1, false, &a);
    if (status >= 0) return status;
    struct veil_encfile_info info;
    _cleanup_secbuf_ struct veil_secbuf *key = NULL;
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    if (a.key_path) {
        status = open_encrypted(&a, &key, &f);
        if (status >= 0) return status;
        veil_encfile_get_info(f, &info);
    } else {
        veil_err_clear();
        _cleanup_close_ int fd = open(a.files[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) return fail(a.files[0], -errno);
        int r = veil_encfile_peek(fd, &info);
        if (r < 0) return fail(a.files[0], r);
    }
    char id[2 * VEIL_ENCFILE_FILE_ID_SIZE + 1];
    veil_hex_encode(info.file_id, sizeof(info.file_id), id);
    printf("file:            %s\n", a.files[0]);
    printf("format:          veil encfile v%u\n", info.format_version);
    printf("authenticated:   %s\n", info.authenticated ? "yes (header MAC checked for this key and path)"
                                                       : "NO (no --key given; fields are unverified)");
    if (a.logical_path) printf("logical path:    %s\n", a.logical_path);
    printf("file id:         %s\n", id);
    printf("version:         %" PRIu64 "\n", info.version);
    printf("size:            %" PRIu64 " bytes\n", info.size);
    printf("data nodes:      %" PRIu64 " x %zu bytes\n", info.data_node_count, VEIL_ENCFILE_NODE_SIZE);
    printf("tree nodes:      %" PRIu64 " (depth %u)\n", info.tree_node_count, info.tree_depth);
    printf("encrypted size:  %" PRIu64 " bytes\n", info.disk_size);
    return 0;
}

int veil_cmd_pfs(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        { "keygen", cmd_keygen }, { "encrypt", cmd_encrypt }, { "decrypt", cmd_decrypt },
        { "verify", cmd_verify }, { "info", cmd_info },
    };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < ELEMENTSOF(subs); i++)
        if (!strcmp(argv[1], subs[i].name)) {
            optind = 1;
            return subs[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "veil pfs: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
