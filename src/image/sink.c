/* SPDX-License-Identifier: Apache-2.0 */
/* Double-buffered hash-and-write pipeline for output layers (one worker thread). */
#include "sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"

#define SINK_BUFFER_SIZE ((size_t)4 << 20)

struct image_sink {
    int fd;
    uint64_t offset;   /* where the worker writes next */
    uint64_t total;    /* bytes accepted */
    struct veil_hash *hash;
    uint8_t *buf[2];
    size_t size[2];
    bool full[2];      /* handed to the worker, not yet written */
    int filling;       /* the buffer the writer fills */
    bool stop, started;
    int err;           /* first worker error */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void *worker(void *userdata) {
    struct image_sink *s = userdata;
    for (int next = 0;; next ^= 1) {
        pthread_mutex_lock(&s->lock);
        while (!s->full[next] && !s->stop) pthread_cond_wait(&s->cond, &s->lock);
        if (!s->full[next]) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        pthread_mutex_unlock(&s->lock);
        int r = 0;
        if (s->err == 0) {
            r = veil_hash_update(s->hash, s->buf[next], s->size[next]);
            if (r >= 0) r = veil_pwrite_all(s->fd, s->buf[next], s->size[next], (off_t)s->offset);
            s->offset += s->size[next];
        }
        pthread_mutex_lock(&s->lock);
        if (r < 0 && s->err == 0) s->err = r;
        s->full[next] = false;
        s->size[next] = 0;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

int image_sink_new(int fd, uint64_t offset, struct image_sink **ret) {
    struct image_sink *s = calloc(1, sizeof(*s));
    if (!s) return -ENOMEM;
    s->fd = fd;
    s->offset = offset;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    int r = veil_hash_new(VEIL_HASH_SHA256, &s->hash);
    if (r >= 0 && (!(s->buf[0] = malloc(SINK_BUFFER_SIZE)) || !(s->buf[1] = malloc(SINK_BUFFER_SIZE)))) r = -ENOMEM;
    if (r >= 0 && (r = -pthread_create(&s->thread, NULL, worker, s)) == 0) s->started = true;
    if (r < 0) {
        image_sink_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

/* Hand the filling buffer to the worker and wait until the other one is free. */
static int submit(struct image_sink *s) {
    pthread_mutex_lock(&s->lock);
    s->full[s->filling] = true;
    pthread_cond_broadcast(&s->cond);
    s->filling ^= 1;
    while (s->full[s->filling]) pthread_cond_wait(&s->cond, &s->lock);
    int r = s->err;
    pthread_mutex_unlock(&s->lock);
    return r;
}

int image_sink_write(struct image_sink *s, const void *data, size_t size) {
    const uint8_t *p = data;
    while (size > 0) {
        int b = s->filling;
        size_t n = MIN(size, SINK_BUFFER_SIZE - s->size[b]);
        memcpy(s->buf[b] + s->size[b], p, n);
        s->size[b] += n;
        s->total += n;
        p += n;
        size -= n;
        if (s->size[b] == SINK_BUFFER_SIZE) {
            int r = submit(s);
            if (r < 0) return veil_err(r, "writing the output");
        }
    }
    return 0;
}

static void stop(struct image_sink *s) {
    if (!s->started) return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

int image_sink_finish(struct image_sink *s, uint8_t digest[VEIL_SHA256_SIZE], uint64_t *ret_size) {
    int r = 0;
    if (s->size[s->filling] > 0) r = submit(s);
    stop(s); /* the worker drains what is full before it stops */
    if (r == 0) r = s->err;
    if (r < 0) return veil_err(r, "writing the output");
    if ((r = veil_hash_final(s->hash, digest)) < 0) return r;
    *ret_size = s->total;
    return 0;
}

void image_sink_free(struct image_sink *s) {
    if (!s) return;
    stop(s);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    veil_hash_free(s->hash);
    free(s->buf[0]);
    free(s->buf[1]);
    free(s);
}
