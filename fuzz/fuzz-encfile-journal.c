/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the recovery of an in-place write-back: arbitrary bytes as the journal
 * next to a fixed encrypted file, then veil_encfile_recover and an open that
 * verifies the file; and the journal parser and applier straight on a memory
 * file. The target is made with the deterministic store, so its bytes (and file
 * id) are the same in every run and the seeds in corpus/encfile-journal —
 * journals of a real write-back of it, made by this program when
 * FUZZ_JOURNAL_SEEDS=DIR is set (make_seeds below) — apply to it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "encfile/encfile.h"
#include "encfile/journal.h"

void make_seeds(const char *dir);

static const uint8_t key[VEIL_ENCFILE_KEY_SIZE] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};
#define LOGICAL_PATH "/fuzz"
#define TARGET_SIZE (3 * VEIL_ENCFILE_NODE_SIZE + 5)

static char target[256], journal[512];
static uint8_t *target_bytes;
static size_t target_size;

static char scratch[] = "/dev/shm/veil-fuzz-journal-XXXXXX";

static void cleanup(void) {
    unlink(journal);
    unlink(target);
    rmdir(scratch);
}

static void setup(void) {
    if (!mkdtemp(scratch)) abort();
    atexit(cleanup);
    snprintf(target, sizeof(target), "%s/t", scratch);
    char *j;
    if (encfile_journal_path(target, &j) < 0) abort();
    snprintf(journal, sizeof(journal), "%s", j);
    free(j);
    uint8_t *plain = calloc(1, TARGET_SIZE);
    if (!plain) abort();
    for (size_t i = 0; i < TARGET_SIZE; i++) plain[i] = (uint8_t)(i * 7);
    if (veil_encfile_store_deterministic(target, key, LOGICAL_PATH, 1, plain, TARGET_SIZE, 0600) < 0) abort();
    free(plain);
    if (veil_read_file(target, 1 << 20, &target_bytes, &target_size) < 0) abort();
    const char *seeds = getenv("FUZZ_JOURNAL_SEEDS");
    if (seeds) make_seeds(seeds);
}

static void put(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (veil_write_all(fd, data, size) < 0) { /* the fuzzer looks for crashes only */ }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!target_bytes) setup();
    /* the parser and the applier alone, on a memory file (bounded: records lie inside the input) */
    struct encfile_journal_view v;
    if (encfile_journal_parse(data, size, &v) == 0 && v.new_length <= ((uint64_t)1 << 32)) {
        int fd = memfd_create("fuzz-journal", MFD_CLOEXEC);
        if (fd >= 0) {
            int r = encfile_journal_apply(&v, fd);
            (void)r;
            close(fd);
        }
    }
    /* the whole recovery, next to the real file */
    put(target, target_bytes, target_size);
    put(journal, data, size);
    if (veil_encfile_recover(target, key, LOGICAL_PATH) == 0) {
        struct veil_encfile *f;
        if (veil_encfile_open(target, key, LOGICAL_PATH, VEIL_ENCFILE_READ, NULL, &f) == 0) {
            int r = veil_encfile_verify(f);
            (void)r;
            veil_encfile_free(f);
        }
    }
    unlink(journal);
    veil_err_clear();
    return 0;
}

static void write_seed(const char *dir, const char *name, const uint8_t *data, size_t size) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    put(path, data, size);
}

/*
 * Seeds: the journal that takes the target to a real next version (a write
 * inside the first node and an append, flushed on a copy of it), with a record
 * per changed 64 KiB range, the tree and the header; and variants of it.
 */
void make_seeds(const char *dir) {
    char copy[300];
    snprintf(copy, sizeof(copy), "%s2", target);
    put(copy, target_bytes, target_size);
    struct veil_encfile *f;
    if (veil_encfile_open(copy, key, LOGICAL_PATH, VEIL_ENCFILE_WRITE, NULL, &f) < 0) abort();
    uint8_t more[1000];
    memset(more, 0x42, sizeof(more));
    if (veil_encfile_pwrite(f, "hello", 5, 100) != 5 || veil_encfile_pwrite(f, more, sizeof(more), TARGET_SIZE) != 1000 ||
        veil_encfile_flush(f) < 0)
        abort();
    veil_encfile_free(f);
    uint8_t *after;
    size_t after_size;
    if (veil_read_file(copy, 1 << 20, &after, &after_size) < 0) abort();
    unlink(copy);

    struct encfile_journal j;
    uint8_t hdr_key[32];
    if (encfile_journal_begin(&j, target_bytes + 16, after_size, target_bytes) < 0) abort();
    for (size_t at = ENCFILE_HEADER_SIZE; at < after_size; at += VEIL_ENCFILE_NODE_SIZE) {
        size_t n = after_size - at < VEIL_ENCFILE_NODE_SIZE ? after_size - at : VEIL_ENCFILE_NODE_SIZE;
        if (at + n <= target_size && !memcmp(after + at, target_bytes + at, n)) continue;
        if (encfile_journal_add(&j, at, after + at, n) < 0) abort();
    }
    if (encfile_journal_add(&j, 0, after, ENCFILE_HEADER_SIZE) < 0 ||
        encfile_header_key(key, target_bytes + 16, hdr_key) < 0 || encfile_journal_seal(&j, hdr_key, LOGICAL_PATH) < 0)
        abort();
    write_seed(dir, "next-version", j.data, j.size);
    write_seed(dir, "torn", j.data, j.size / 2);
    j.data[j.size - 1] ^= 1;
    write_seed(dir, "bad-mac", j.data, j.size);
    encfile_journal_free(&j);
    free(after);
}
