/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the encrypted file parser: arbitrary bytes opened, verified and read with a fixed key and path. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/fileio.h"
#include "encfile/encfile.h"

/* The seeds in corpus/encfile were made with this key (bytes 0..31) and logical path. */
static const uint8_t key[VEIL_ENCFILE_KEY_SIZE] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};
#define LOGICAL_PATH "/fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz-encfile", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (veil_write_all(fd, data, size) < 0) {
        close(fd);
        return 0;
    }
    struct veil_encfile_info info;
    /* results are ignored on purpose: the fuzzer looks for crashes and sanitizer reports */
    int r = veil_encfile_peek(fd, &info);

    struct veil_encfile *f;
    if (veil_encfile_open_fd(fd, key, LOGICAL_PATH, NULL, &f) == 0) {
        uint8_t buf[4096];
        uint64_t file_size = veil_encfile_size(f);
        /* a few reads spread over the file, then everything */
        for (uint64_t i = 0; i < 8; i++) {
            ssize_t n = veil_encfile_pread(f, buf, sizeof(buf), file_size / 8 * i);
            (void)n;
        }
        r = veil_encfile_verify(f);
        veil_encfile_get_info(f, &info);
        veil_encfile_free(f);
    }
    struct veil_secbuf *plain;
    if (veil_encfile_load_fd(fd, key, LOGICAL_PATH, NULL, &plain, NULL) == 0) veil_secbuf_free(plain);
    close(fd);
    (void)r;
    return 0;
}
