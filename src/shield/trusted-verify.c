/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying a trusted file against its content digest, on every core, optionally while copying it. */
#include "trusted-verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "manifest/file-digest.h"

/* Read and hash in steps that stay in the cache between the copy and the hash. */
#define STEP ((size_t)256 << 10)
#define MAX_THREADS 8

struct verify_job {
    int src;
    int dest;        /* the memory file to copy into, or -1: hash only */
    uint64_t size;   /* of the file */
    uint64_t count;  /* chunks, 0 for a file digested whole */
    uint8_t (*digests)[VEIL_SHA256_SIZE];
    atomic_uint_fast64_t next; /* the next chunk to take */
    atomic_int error;          /* the first error, or 0: the others stop */
};

/*
 * Read [start, end) of the file into buf step by step, feed each step to
 * update(ctx, ...) and then write that same buffer to the memory file: what is
 * written is exactly what was hashed (the buffer is this thread's own), and
 * write() fills the memory file's pages without a page fault per 4 KiB.
 */
static int read_range(struct verify_job *j, uint64_t start, uint64_t end, uint8_t *buf,
                      int (*update)(void *ctx, const void *data, size_t n), void *ctx) {
    for (uint64_t at = start; at < end;) {
        size_t n = (size_t)MIN((uint64_t)STEP, end - at);
        int r = veil_pread_all(j->src, buf, n, (off_t)at);
        if (r == -EBADMSG) r = -EACCES; /* shorter than the manifest says: it shrank */
        if (r < 0) return r;
        if ((r = update(ctx, buf, n)) < 0) return r;
        if (j->dest >= 0 && (r = veil_pwrite_all(j->dest, buf, n, (off_t)at)) < 0) return r;
        at += n;
    }
    return 0;
}

static int hash_update(void *ctx, const void *data, size_t n) { return veil_hash_update(ctx, data, n); }
static int file_digest_update(void *ctx, const void *data, size_t n) { return veil_file_digest_update(ctx, data, n); }

static int hash_chunk(struct verify_job *j, uint64_t index, uint8_t *buf) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    uint64_t start = index * VEIL_FILE_DIGEST_CHUNK;
    if (r >= 0) r = read_range(j, start, MIN(start + VEIL_FILE_DIGEST_CHUNK, j->size), buf, hash_update, h);
    return r < 0 ? r : veil_hash_final(h, j->digests[index]);
}

static void *chunk_worker(void *arg) {
    struct verify_job *j = arg;
    uint8_t *buf = malloc(STEP);
    int r = buf ? 0 : -ENOMEM;
    for (;;) {
        if (r < 0) {
            int none = 0;
            atomic_compare_exchange_strong(&j->error, &none, r);
            break;
        }
        if (atomic_load(&j->error)) break;
        uint64_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->count) break;
        r = hash_chunk(j, i, buf);
    }
    free(buf);
    return NULL;
}

/* A file digested in chunks: the chunks on up to one thread per CPU, then combined. */
static int digest_chunked(struct verify_job *j, uint8_t digest[VEIL_SHA256_SIZE]) {
    _cleanup_free_ uint8_t (*digests)[VEIL_SHA256_SIZE] = calloc(j->count, VEIL_SHA256_SIZE);
    if (!digests) return -ENOMEM;
    j->digests = digests;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t helpers = (size_t)MIN((uint64_t)MAX(cpus, 1L), MIN(j->count, (uint64_t)MAX_THREADS)) - 1;
    pthread_t threads[MAX_THREADS];
    size_t started = 0;
    while (started < helpers && pthread_create(&threads[started], NULL, chunk_worker, j) == 0) started++;
    chunk_worker(j); /* this thread takes chunks too */
    for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
    int r = atomic_load(&j->error);
    return r < 0 ? r : veil_file_digest_combine(j->size, (const uint8_t (*)[VEIL_SHA256_SIZE])digests, j->count, digest);
}

/* A file digested whole, on this thread. */
static int digest_whole(struct verify_job *j, uint8_t digest[VEIL_SHA256_SIZE]) {
    /* one buffer per thread, kept: a fresh 256 KiB malloc is an mmap and its page faults each time */
    static __thread uint8_t *buf;
    if (!buf && !(buf = malloc(STEP))) return -ENOMEM;
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *h = NULL;
    int r = veil_file_digest_new(j->size, &h);
    if (r >= 0) r = read_range(j, 0, j->size, buf, file_digest_update, h);
    return r < 0 ? r : veil_file_digest_final(h, digest);
}

int veil_shield_verify_file(int src, int dest, const char *path, const struct veil_shield_verdict *v) {
    struct verify_job j = { .src = src, .dest = dest, .size = v->size, .count = veil_file_digest_chunks(v->size) };
    atomic_init(&j.next, 0);
    atomic_init(&j.error, 0);
    uint8_t digest[VEIL_SHA256_SIZE] = { 0 };
    int r = j.count ? digest_chunked(&j, digest) : digest_whole(&j, digest);
    if (r >= 0 && !veil_memeq_ct(digest, v->sha256, sizeof(digest)))
        return veil_err(-EACCES, "%s does not match its digest in the manifest", path);
    if (r == -EACCES) return veil_err(-EACCES, "%s shrank while it was read", path);
    if (r < 0) return veil_err(r, "cannot verify %s", path);
    return 0;
}
