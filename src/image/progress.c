/* SPDX-License-Identifier: Apache-2.0 */
/* Progress on stderr, redrawn at most five times a second, only for terminals and large images. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void draw(struct image_progress *p) {
    unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
    fprintf(stderr, "\r%s: %llu / %llu MB (%u%%)", p->label, (unsigned long long)(p->done >> 20),
            (unsigned long long)(p->total >> 20), pct > 100 ? 100 : pct);
    fflush(stderr);
}

void image_progress_start(struct image_progress *p, bool enabled, const char *label, uint64_t total) {
    *p = (struct image_progress){
        .enabled = enabled && total >= IMAGE_PROGRESS_MIN && isatty(STDERR_FILENO),
        .label = label,
        .total = total,
    };
    if (p->enabled) draw(p);
}

void image_progress_add(struct image_progress *p, uint64_t bytes) {
    if (!p || !p->enabled) return;
    p->done += bytes;
    uint64_t t = now_ms();
    if (t - p->last_ms < 200) return;
    p->last_ms = t;
    draw(p);
}

void image_progress_end(struct image_progress *p) {
    if (!p || !p->enabled) return;
    p->done = p->total;
    draw(p);
    fputc('\n', stderr);
    p->enabled = false;
}
