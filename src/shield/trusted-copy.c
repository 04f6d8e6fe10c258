/* SPDX-License-Identifier: Apache-2.0 */
/* A large trusted file into its memfd: copied by one thread while another hashes what the memfd holds. */
#include "trusted-copy.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/random.h"

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
        pthread_mutex_lock(&j->lock);
        if (r >= 0) j->copied = done;
        else j->error = r;
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

static int hash_copied(struct copy_job *j, const char *path, const uint8_t want[VEIL_SHA256_SIZE]) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    _cleanup_free_ uint8_t *buf = malloc(STEP);
    int r = buf ? veil_hash_new(VEIL_HASH_SHA256, &h) : -ENOMEM;
    for (uint64_t done = 0; r >= 0 && done < j->size;) {
        size_t n = (size_t)MIN((uint64_t)STEP, j->size - done);
        if ((r = wait_copied(j, done + n)) < 0) break;
        if ((r = veil_pread_all(j->memfd, buf, n, (off_t)done)) < 0) break;
        r = veil_hash_update(h, buf, n);
        done += n;
    }
    uint8_t digest[VEIL_SHA256_SIZE];
    if (r >= 0) r = veil_hash_final(h, digest);
    if (r >= 0 && !veil_memeq_ct(digest, want, sizeof(digest)))
        r = veil_err(-EACCES, "%s does not match its digest in the manifest", path);
    else if (r == -EACCES)
        r = veil_err(-EACCES, "%s shrank while it was read", path);
    else if (r < 0)
        r = veil_err(r, "cannot copy %s", path);
    return r;
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
