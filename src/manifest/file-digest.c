/* SPDX-License-Identifier: Apache-2.0 */
/* What an entry's content digest is: SHA-256 of small files, a digest of 1 MiB chunk digests for larger ones. */
#include "file-digest.h"

#include <errno.h>
#include <stdlib.h>

#include "base/cursor.h"
#include "base/err.h"

static const char chunks_label[] = "veil-chunks-v1"; /* with its NUL: 15 bytes */

struct veil_file_digest {
    uint64_t size, fed;
    struct veil_hash *outer; /* chunked: the digest of the chunk digests; else NULL */
    struct veil_hash *inner; /* the whole file, or the current chunk */
};

uint64_t veil_file_digest_chunks(uint64_t size) {
    return size <= VEIL_FILE_DIGEST_CHUNK ? 0 : (size + VEIL_FILE_DIGEST_CHUNK - 1) / VEIL_FILE_DIGEST_CHUNK;
}

static int outer_begin(uint64_t size, struct veil_hash **ret) {
    uint8_t le[8];
    veil_store_u64le(le, size);
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r >= 0) r = veil_hash_update(h, chunks_label, sizeof(chunks_label));
    if (r >= 0) r = veil_hash_update(h, le, sizeof(le));
    if (r >= 0) *ret = TAKE_PTR(h);
    return r;
}

int veil_file_digest_new(uint64_t size, struct veil_file_digest **ret) {
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *d = calloc(1, sizeof(*d));
    if (!d) return -ENOMEM;
    d->size = size;
    int r = veil_hash_new(VEIL_HASH_SHA256, &d->inner);
    if (r >= 0 && veil_file_digest_chunks(size)) r = outer_begin(size, &d->outer);
    if (r >= 0) *ret = TAKE_PTR(d);
    return r;
}

/* Close the current chunk: its digest goes into the outer hash, and the next chunk starts. */
static int close_chunk(struct veil_file_digest *d) {
    uint8_t digest[VEIL_SHA256_SIZE];
    int r = veil_hash_final(d->inner, digest);
    if (r >= 0) r = veil_hash_update(d->outer, digest, sizeof(digest));
    if (r >= 0) r = veil_hash_reset(d->inner);
    return r;
}

int veil_file_digest_update(struct veil_file_digest *d, const void *data, size_t n) {
    const uint8_t *p = data;
    if (n > d->size - d->fed) return veil_err(-EINVAL, "more bytes than the file's size");
    while (n) {
        size_t take = n;
        if (d->outer) {
            uint64_t in_chunk = d->fed % VEIL_FILE_DIGEST_CHUNK;
            if (in_chunk == 0 && d->fed > 0) { /* the previous chunk is complete */
                int r = close_chunk(d);
                if (r < 0) return r;
            }
            take = (size_t)MIN((uint64_t)n, VEIL_FILE_DIGEST_CHUNK - in_chunk);
        }
        int r = veil_hash_update(d->inner, p, take);
        if (r < 0) return r;
        p += take;
        n -= take;
        d->fed += take;
    }
    return 0;
}

int veil_file_digest_final(struct veil_file_digest *d, uint8_t out[VEIL_SHA256_SIZE]) {
    if (d->fed != d->size) return veil_err(-EINVAL, "%llu bytes digested of a %llu-byte file",
                                           (unsigned long long)d->fed, (unsigned long long)d->size);
    if (!d->outer) return veil_hash_final(d->inner, out);
    int r = close_chunk(d);
    return r < 0 ? r : veil_hash_final(d->outer, out);
}

void veil_file_digest_free(struct veil_file_digest *d) {
    if (!d) return;
    veil_hash_free(d->inner);
    veil_hash_free(d->outer);
    free(d);
}

int veil_file_digest(const void *data, uint64_t size, uint8_t out[VEIL_SHA256_SIZE]) {
    if (size > SIZE_MAX) return -EFBIG;
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *d = NULL;
    int r = veil_file_digest_new(size, &d);
    if (r >= 0) r = veil_file_digest_update(d, data, (size_t)size);
    if (r >= 0) r = veil_file_digest_final(d, out);
    return r;
}

int veil_file_digest_combine(uint64_t size, const uint8_t (*chunks)[VEIL_SHA256_SIZE], uint64_t count,
                             uint8_t out[VEIL_SHA256_SIZE]) {
    if (count == 0 || count != veil_file_digest_chunks(size)) return veil_err(-EINVAL, "wrong number of chunk digests");
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = outer_begin(size, &h);
    for (uint64_t i = 0; r >= 0 && i < count; i++) r = veil_hash_update(h, chunks[i], VEIL_SHA256_SIZE);
    return r < 0 ? r : veil_hash_final(h, out);
}
