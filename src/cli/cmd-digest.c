/* SPDX-License-Identifier: Apache-2.0 */
/* `veil digest FILE...`: the content digest the manifest records for a file, printed as sha256sum does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "command.h"
#include "manifest/file-digest.h"

static void usage(FILE *out) {
    fprintf(out, "usage: veil digest FILE...\n"
                 "\n"
                 "Prints the content digest an image manifest records for each file (`veil inspect --files`\n"
                 "lists them): SHA-256 for files up to 1 MiB, what sha256sum prints; for larger files the\n"
                 "digest of their 1 MiB chunks' SHA-256s (docs/manifest.md, \"Content digests\").\n");
}

static int digest_file(const char *path, uint8_t out[VEIL_SHA256_SIZE]) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) return veil_err(-errno, "cannot stat %s", path);
    if (!S_ISREG(st.st_mode)) return veil_err(-EINVAL, "%s is not a regular file", path);
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *d = NULL;
    int r = veil_file_digest_new((uint64_t)st.st_size, &d);
    _cleanup_free_ uint8_t *buf = malloc(1 << 20);
    if (r >= 0 && !buf) r = -ENOMEM;
    for (uint64_t done = 0; r >= 0 && done < (uint64_t)st.st_size;) {
        ssize_t n = read(fd, buf, (size_t)MIN((uint64_t)1 << 20, (uint64_t)st.st_size - done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return veil_err(-errno, "cannot read %s", path);
        if (n == 0) return veil_err(-EIO, "%s shrank while it was read", path);
        r = veil_file_digest_update(d, buf, (size_t)n);
        done += (uint64_t)n;
    }
    if (r >= 0) r = veil_file_digest_final(d, out);
    return r;
}

int veil_cmd_digest(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int exit_code = 0;
    for (int i = 1; i < argc; i++) {
        uint8_t digest[VEIL_SHA256_SIZE];
        char hex[2 * VEIL_SHA256_SIZE + 1];
        veil_err_clear();
        int r = digest_file(argv[i], digest);
        if (r < 0) {
            fprintf(stderr, "veil digest: %s\n", veil_err_describe(r));
            exit_code = 1;
            continue;
        }
        veil_hex_encode(digest, sizeof(digest), hex);
        printf("%s  %s\n", hex, argv[i]);
    }
    return exit_code;
}
