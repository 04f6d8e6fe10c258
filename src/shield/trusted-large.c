/* SPDX-License-Identifier: Apache-2.0 */
/* Large trusted files on several threads: copied while hashed, or hashed chunk by chunk on every core. */
#include "trusted-large.h"

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

#define STEP ((size_t)1 << 20) /* the copier reports progress per step; the hasher reads back per step */

struct copy_job {
    int src, memfd;
    uint64_t size;
    pthread_mutex_t lock;
    pthread_cond_t progress;
    uint64_t copied; /* bytes of the memfd written so far (a prefix) */
    int error;       /* the copier's first error, or 0 */
    bool stop;       /* the hasher gave up: the copier stops too */
};

static void *copier(void *arg) {
    struct copy_job *j = arg;
    uint8_t *buf = malloc(STEP);
    int r = buf ? 0 : -ENOMEM;
    for (uint64_t done = 0; r >= 0 && done < j->size;) {
        pthread_mutex_lock(&j->lock);
        bool stop = j->stop;
        pthread_mutex_unlock(&j->lock);
        if (stop) break;
        size_t n = (size_t)MIN((uint64_t)STEP, j->size - done);
        r = veil_pread_all(j->src, buf, n, (off_t)done);
        if (r == -EBADMSG) r = -EACCES; /* shorter than the manifest says: it shrank */
        if (r >= 0) r = veil_pwrite_all(j->memfd, buf, n, (off_t)done);
        done += n;
        if (r >= 0) {
            pthread_mutex_lock(&j->lock);
            j->copied = done;
            pthread_cond_signal(&j->progress);
            pthread_mutex_unlock(&j->lock);
        }
    }
    if (r < 0) { /* every failure, the first allocation's too, must wake the hasher */
        pthread_mutex_lock(&j->lock);
        j->error = r;
        pthread_cond_signal(&j->progress);
        pthread_mutex_unlock(&j->lock);
    }
    free(buf);
    return NULL;
}

/* Wait until [0, end) is in the memfd: 0, or the copier's error. */
static int wait_copied(struct copy_job *j, uint64_t end) {
    pthread_mutex_lock(&j->lock);
    while (j->copied < end && !j->error) pthread_cond_wait(&j->progress, &j->lock);
    int r = j->copied >= end ? 0 : j->error;
    pthread_mutex_unlock(&j->lock);
    return r;
}

/* Compare a computed digest with the manifest's, and word the refusal. */
static int judge(int r, const uint8_t digest[VEIL_SHA256_SIZE], const uint8_t want[VEIL_SHA256_SIZE], const char *path) {
    if (r >= 0 && !veil_memeq_ct(digest, want, VEIL_SHA256_SIZE))
        return veil_err(-EACCES, "%s does not match its digest in the manifest", path);
    if (r == -EACCES) return veil_err(-EACCES, "%s shrank while it was read", path);
    if (r < 0) return veil_err(r, "cannot verify %s", path);
    return 0;
}

static int hash_copied(struct copy_job *j, const char *path, const uint8_t want[VEIL_SHA256_SIZE]) {
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *h = NULL;
    _cleanup_free_ uint8_t *buf = malloc(STEP);
    int r = buf ? veil_file_digest_new(j->size, &h) : -ENOMEM;
    for (uint64_t done = 0; r >= 0 && done < j->size;) {
        size_t n = (size_t)MIN((uint64_t)STEP, j->size - done);
        if ((r = wait_copied(j, done + n)) < 0) break;
        if ((r = veil_pread_all(j->memfd, buf, n, (off_t)done)) < 0) break;
        r = veil_file_digest_update(h, buf, n);
        done += n;
    }
    uint8_t digest[VEIL_SHA256_SIZE] = { 0 };
    if (r >= 0) r = veil_file_digest_final(h, digest);
    return judge(r, digest, want, path);
}

int veil_shield_copy_and_hash(int src, int memfd, const char *path, const struct veil_shield_verdict *v) {
    struct copy_job j = { .src = src, .memfd = memfd, .size = v->size };
    pthread_mutex_init(&j.lock, NULL);
    pthread_cond_init(&j.progress, NULL);
    pthread_t thread;
    int r = -pthread_create(&thread, NULL, copier, &j);
    if (r < 0) {
        r = veil_err(r, "cannot start a thread to copy %s", path);
    } else {
        r = hash_copied(&j, path, v->sha256);
        pthread_mutex_lock(&j.lock);
        j.stop = true;
        pthread_mutex_unlock(&j.lock);
        pthread_join(thread, NULL);
    }
    pthread_cond_destroy(&j.progress);
    pthread_mutex_destroy(&j.lock);
    return r;
}

/* ---- hashing chunk by chunk on every core ---- */

#define MAX_HASH_THREADS 8

struct chunk_job {
    int src;
    uint64_t size, count;
    uint8_t (*digests)[VEIL_SHA256_SIZE];
    atomic_uint_fast64_t next; /* the next chunk to take */
    atomic_int error;          /* the first error, or 0: the others stop */
};

static int hash_chunk(struct chunk_job *j, uint64_t index, uint8_t *buf) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    uint64_t start = index * VEIL_FILE_DIGEST_CHUNK, end = MIN(start + VEIL_FILE_DIGEST_CHUNK, j->size);
    for (uint64_t at = start; r >= 0 && at < end;) {
        size_t n = (size_t)MIN((uint64_t)STEP, end - at);
        r = veil_pread_all(j->src, buf, n, (off_t)at);
        if (r == -EBADMSG) r = -EACCES; /* shorter than the manifest says: it shrank */
        if (r >= 0) r = veil_hash_update(h, buf, n);
        at += n;
    }
    return r < 0 ? r : veil_hash_final(h, j->digests[index]);
}

static void *chunk_worker(void *arg) {
    struct chunk_job *j = arg;
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

int veil_shield_hash_chunks(int src, const char *path, const struct veil_shield_verdict *v) {
    struct chunk_job j = { .src = src, .size = v->size, .count = veil_file_digest_chunks(v->size) };
    if (j.count == 0) return veil_err(-EINVAL, "%s is not digested in chunks", path);
    _cleanup_free_ uint8_t (*digests)[VEIL_SHA256_SIZE] = calloc(j.count, VEIL_SHA256_SIZE);
    if (!digests) return -ENOMEM;
    j.digests = digests;
    atomic_init(&j.next, 0);
    atomic_init(&j.error, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t helpers = (size_t)MIN((uint64_t)MAX(cpus, 1L), MIN(j.count, (uint64_t)MAX_HASH_THREADS)) - 1;
    pthread_t threads[MAX_HASH_THREADS];
    size_t started = 0;
    while (started < helpers && pthread_create(&threads[started], NULL, chunk_worker, &j) == 0) started++;
    chunk_worker(&j); /* this thread takes chunks too */
    for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
    int r = atomic_load(&j.error);
    uint8_t digest[VEIL_SHA256_SIZE] = { 0 };
    if (r >= 0) r = veil_file_digest_combine(v->size, (const uint8_t (*)[VEIL_SHA256_SIZE])digests, j.count, digest);
    return judge(r, digest, v->sha256, path);
}
