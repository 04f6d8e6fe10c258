/* SPDX-License-Identifier: Apache-2.0 */
/* A one-line progress display on a terminal for long wraps; silent otherwise. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct image_progress {
    bool enabled;
    const char *label;
    uint64_t total, done;
    uint64_t last_ms;
};

/* Shows progress only when `enabled`, stderr is a terminal and total >= IMAGE_PROGRESS_MIN. */
#define IMAGE_PROGRESS_MIN ((uint64_t)200 << 20)
void image_progress_start(struct image_progress *p, bool enabled, const char *label, uint64_t total);
void image_progress_add(struct image_progress *p, uint64_t bytes);
void image_progress_end(struct image_progress *p);
