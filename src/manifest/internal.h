/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest internals shared by the module's files, its tests and its fuzz target; not for other modules. */
#pragma once

#include "manifest.h"

struct veil_manifest {
    uint8_t *data; /* private copy of the whole file (or of the body alone) */
    size_t size;
    size_t body_size;
    uint8_t digest[VEIL_SHA256_SIZE];
    uint8_t signer_id[VEIL_SHA256_SIZE];
    struct veil_manifest_config config;
    const char **lists; /* argv, env and host env arrays, each NULL-terminated, in one allocation */
    const char **keys;
    size_t key_count;
    struct veil_manifest_rule *rules;
    size_t rule_count;
    const uint8_t *entries;
    size_t entry_count;
    const char *strings;
    size_t strings_size;
};

/*
 * Parse and check the structure of a body WITHOUT any signature (for the encoder's
 * self-check, the fuzz target and tests). Takes ownership of `data` (malloc'd) in all
 * cases; body_size bytes of it are the body. The signer id is left zero.
 */
int veil_manifest_parse_body(uint8_t *data, size_t size, size_t body_size, struct veil_manifest **ret) _warn_unused_;
