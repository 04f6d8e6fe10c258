/* SPDX-License-Identifier: Apache-2.0 */
/* Cryptographically secure random bytes, and constant-time comparison. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

int veil_random(void *out, size_t size) _warn_unused_;

/* True when the two buffers are equal; time depends only on size. For MACs and digests. */
bool veil_memeq_ct(const void *a, const void *b, size_t size);
