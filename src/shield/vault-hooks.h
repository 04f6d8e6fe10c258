/* SPDX-License-Identifier: Apache-2.0 */
/* What the vault tells its owner about encrypted files (attest.c keeps volume versions with it). */
#pragma once

#include <stdint.h>

/*
 * Called under the vault's lock. Paths are the application's; key is the file's key
 * (the pointer the key callback returned); version is the encfile version on disk.
 */
struct veil_shield_vault_hooks {
    void *ctx;
    /* the encfile version to store a file at; `proposed` is the vault's own (its last + 1) */
    uint64_t (*version_for)(void *ctx, const char *path, const uint8_t *key, uint64_t proposed);
    /* a file was stored (write-back, creation, rename target); an error fails that store's caller */
    int (*written)(void *ctx, const char *path, const uint8_t *key, uint64_t version);
    /* a file was decrypted and verified; an error refuses it (the open fails with EACCES) */
    int (*loaded)(void *ctx, const char *path, const uint8_t *key, uint64_t version);
    /* a file is about to be unlinked, or was renamed away */
    void (*removed)(void *ctx, const char *path);
};
