/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the encrypted file's write path: byte-coded writes, truncations, reads, flushes and reopens against a model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encfile/encfile.h"

#define NODE VEIL_ENCFILE_NODE_SIZE
/* A model of 6 nodes keeps every op near a node boundary and each input fast. */
#define MODEL_MAX (6 * NODE)

static const uint8_t key[VEIL_ENCFILE_KEY_SIZE] = { 42 };
static char path[256];
static uint8_t model[MODEL_MAX], buf[MODEL_MAX + 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A mismatch with the model is a bug: crash so that the fuzzer keeps the input. */
static void check(int ok) {
    if (!ok) abort();
}

/* Reads a little-endian value of `bytes` bytes, or 0 past the end of the input. */
static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *p < end; i++) v |= (uint64_t)*(*p)++ << (8 * i);
    return v;
}

/* Offsets land mostly near node boundaries: a node index and a signed delta. */
static uint64_t offset_from(uint64_t raw) {
    uint64_t node = (raw >> 12) % 7, delta = raw & 0xfff;
    int64_t at = (int64_t)(node * NODE) + (int64_t)delta - 2048;
    if (at < 0) at = 0;
    return (uint64_t)at > MODEL_MAX ? MODEL_MAX : (uint64_t)at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof(path), "%s/veil-fuzz-encfile-ops.%d", base, (int)getpid());
    }
    unlink(path);
    memset(model, 0, sizeof(model));
    uint64_t model_size = 0;
    struct veil_encfile *f;
    check(veil_encfile_open(path, key, "/ops", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f) == 0);

    const uint8_t *p = data, *end = data + size;
    for (unsigned ops = 0; p < end && ops < 64; ops++) {
        unsigned op = (unsigned)take(&p, end, 1) % 5;
        uint64_t at = offset_from(take(&p, end, 2));
        size_t len = (size_t)take(&p, end, 2) * 4 % (3 * NODE);
        if (op == 0) { /* write */
            len = at + len > MODEL_MAX ? MODEL_MAX - at : len;
            uint8_t fill = (uint8_t)take(&p, end, 1);
            for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(fill + i * 131);
            check(veil_encfile_pwrite(f, buf, len, at) == (ssize_t)len);
            memcpy(model + at, buf, len);
            if (len && at + len > model_size) model_size = at + len;
        } else if (op == 1) { /* truncate */
            check(veil_encfile_truncate(f, at) == 0);
            if (at < model_size) memset(model + at, 0, model_size - at);
            model_size = at;
        } else if (op == 2) { /* read */
            size_t want = at >= model_size ? 0 : (size_t)(model_size - at < len ? model_size - at : len);
            check(veil_encfile_pread(f, buf, len, at) == (ssize_t)want);
            check(!memcmp(buf, model + at, want));
        } else if (op == 3) {
            check(veil_encfile_flush(f) == 0);
        } else { /* close and reopen */
            check(veil_encfile_close(f) == 0);
            check(veil_encfile_open(path, key, "/ops", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f) == 0);
            check(veil_encfile_verify(f) == 0);
        }
        check(veil_encfile_size(f) == model_size);
    }
    check(veil_encfile_close(f) == 0);
    if (access(path, F_OK) == 0) {
        check(veil_encfile_open(path, key, "/ops", VEIL_ENCFILE_READ, NULL, &f) == 0);
        check(veil_encfile_pread(f, buf, sizeof(buf), 0) == (ssize_t)model_size);
        check(!memcmp(buf, model, model_size));
        veil_encfile_free(f);
    }
    unlink(path);
    return 0;
}
