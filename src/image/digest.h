/* SPDX-License-Identifier: Apache-2.0 */
/* A layer blob's SHA-256 computed by a second thread, over bytes that stay mapped. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

/*
 * The blob digest is computed by a second thread while the layer is parsed and
 * its files are hashed: the bytes are handed out as pointers into the mapping, so
 * the thread can hash a growing prefix of the blob without copies. Bytes that do
 * not lie in the mapping (a compressed image archive) are hashed in line instead.
 * When the blob is also copied to the output (layers kept as they are), a second
 * worker of the same kind copies it: the parsing thread already hashes every file,
 * and the copy is a third pass over the bytes that would otherwise serialise
 * behind one of the two hashes.
 */

struct image_digest_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct veil_hash *hash; /* NULL for a copy-only worker */
    const uint8_t *base; /* the blob's bytes handed out so far start here ... */
    size_t avail;        /* ... and are this many */
    size_t hashed;       /* how many of them the thread has hashed */
    uint64_t base_pos;   /* where base lies in the blob */
    int copy_fd;         /* -1, or where the blob's bytes go, at copy_offset + their position */
    uint64_t copy_offset;
    bool done, started;
    int err;
};

/* A worker that hashes (hash) and/or copies the blob's bytes to copy_fd (>= 0) at copy_offset + position. */
int image_digest_start(struct image_digest_worker *w, bool hash, int copy_fd, uint64_t copy_offset) _warn_unused_;
/*
 * Hand the next n bytes of the blob (at position pos) to the thread. Bytes inside
 * [stable, stable + stable_size) must stay valid until image_digest_stop(); others
 * are hashed (and copied) here, after the thread has caught up, so the order is kept.
 */
int image_digest_feed(struct image_digest_worker *w, const void *stable, size_t stable_size, const uint8_t *p, size_t n,
                      uint64_t pos) _warn_unused_;
/* Wait for the thread to finish (hashing and copying); the first error, or 0. The hash is then w->hash's to finalise. */
int image_digest_stop(struct image_digest_worker *w);
/* Stop (if running) and release. */
void image_digest_done(struct image_digest_worker *w);
