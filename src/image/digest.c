/* SPDX-License-Identifier: Apache-2.0 */
/* The digest thread: hashes a growing prefix of mapped blob bytes while the main thread parses them. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "base/fileio.h"

/*
 * Hash n bytes at blob position pos, and copy them when asked to. The copy's
 * writeback starts now (the output is fsynced before it is renamed into place):
 * otherwise the whole blob would reach the disk in one serial fsync at the end.
 */
static int digest_chunk(struct image_digest_worker *w, const uint8_t *p, size_t n, uint64_t pos) {
    int r = w->hash ? veil_hash_update(w->hash, p, n) : 0;
    if (r < 0 || w->copy_fd < 0) return r;
    off_t at = (off_t)(w->copy_offset + pos);
    if ((r = veil_pwrite_all(w->copy_fd, p, n, at)) < 0) return r;
    (void)sync_file_range(w->copy_fd, at, (off_t)n, SYNC_FILE_RANGE_WRITE); /* a hint: failure only costs time */
    return 0;
}

static void *digest_thread(void *userdata) {
    struct image_digest_worker *w = userdata;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->hashed == w->avail && !w->done) pthread_cond_wait(&w->cond, &w->lock);
        if (w->hashed == w->avail) break;
        const uint8_t *p = w->base + w->hashed;
        size_t n = w->avail - w->hashed;
        uint64_t pos = w->base_pos + w->hashed;
        pthread_mutex_unlock(&w->lock);
        int r = digest_chunk(w, p, n, pos);
        pthread_mutex_lock(&w->lock);
        if (r < 0 && !w->err) w->err = r;
        w->hashed += n;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Wait until the thread has hashed everything handed to it. */
static void digest_catch_up(struct image_digest_worker *w) {
    pthread_mutex_lock(&w->lock);
    while (w->hashed != w->avail) pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

int image_digest_feed(struct image_digest_worker *w, const void *stable, size_t stable_size, const uint8_t *p, size_t n,
                      uint64_t pos) {
    const uint8_t *start = stable, *end = start ? start + stable_size : NULL;
    if (!start || p < start || p + n > end) {
        digest_catch_up(w); /* keep the order: everything before p first */
        return digest_chunk(w, p, n, pos);
    }
    pthread_mutex_lock(&w->lock);
    if (w->base && p != w->base + w->avail) {
        while (w->hashed != w->avail) pthread_cond_wait(&w->cond, &w->lock);
        w->base = NULL;
    }
    if (!w->base) {
        w->base = p;
        w->base_pos = pos;
        w->avail = w->hashed = 0;
    }
    w->avail += n;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int image_digest_start(struct image_digest_worker *w, bool hash, int copy_fd, uint64_t copy_offset) {
    w->copy_fd = copy_fd;
    w->copy_offset = copy_offset;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    int r = hash ? veil_hash_new(VEIL_HASH_SHA256, &w->hash) : 0;
    if (r < 0) return r;
    if ((r = -pthread_create(&w->thread, NULL, digest_thread, w)) < 0) return r;
    w->started = true;
    return 0;
}

int image_digest_stop(struct image_digest_worker *w) {
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->done = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    return w->err;
}

void image_digest_done(struct image_digest_worker *w) {
    (void)image_digest_stop(w);
    veil_hash_free(w->hash);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}
