/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the hardware verifier tests (snp, tdx, sgx, azure): vector files, collateral, times, refusals. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct veil_collateral;

/* $VEIL_VECTORS/name; the caller frees it. */
char *vector_path(const char *name);

/* The bytes of a vector file (at most 1 MiB); the caller frees them. */
uint8_t *load(const char *name, size_t *ret_size);

/* A collateral from vector files, NULL-terminated. */
struct veil_collateral *collateral(const char *first, ...);

/* An RFC 3339 time such as "2025-06-20T00:00:00Z". */
time_t at(const char *text);

/* Expect the bytes (at most 128) to be `hex`. */
void hex_equal(const uint8_t *data, size_t size, const char *hex);

/* Expect refusal with err and a detail containing `needle`. */
void refused(int r, int err, const char *needle);
