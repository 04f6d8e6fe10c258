/* SPDX-License-Identifier: Apache-2.0 */
/* Incremental write-back: re-seal only the 64 KiB nodes of a decrypted copy that changed since it was stored. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/macro.h"

/* GMAC under a key of this process (vault-delta.c says why not SHA-256). */
#define VAULT_DIGEST_SIZE 16

/*
 * A digest of each node's plaintext exactly as it is on disk (the bytes that were
 * sealed, not a later look at the memfd), with the plaintext size and the
 * version they belong to. valid = false: nothing known, the next write-back is
 * a whole-file store.
 */
struct vault_digests {
    uint8_t (*node)[VAULT_DIGEST_SIZE];
    uint64_t count;   /* data nodes: ceil(size / 64 KiB) */
    uint64_t size;    /* plaintext bytes on disk */
    uint64_t version; /* encfile version on disk */
    bool valid;
};

void vault_digests_clear(struct vault_digests *d);

/*
 * Store the memfd's contents at disk_path as `version`, re-sealing only the
 * nodes whose digest differs (an encfile flush: new file, fsync, rename, fsync
 * of the directory). Returns the number of nodes re-sealed (>= 0); the digests
 * then describe the new file. -EAGAIN when it is not possible, not worth it (no
 * digests, too many changed nodes, the file on disk is not the one the digests
 * describe) or failed; any other -errno when it could not start (fstat, memory).
 * On any error nothing of the new version is known: the caller stores the whole file.
 */
int vault_delta_store(const char *disk_path, const uint8_t *key, const char *logical_path, uint64_t version,
                      int memfd, struct vault_digests *d) _warn_unused_;

/* After a whole-file store: read the file back (pinned to `version`) and take its digests. */
int vault_digests_from_disk(const char *disk_path, const uint8_t *key, const char *logical_path, uint64_t version,
                            struct vault_digests *d) _warn_unused_;
/* The same from a copy known to equal the file on disk (no writer has had it since it was loaded or stored). */
int vault_digests_from_fd(int fd, uint64_t version, struct vault_digests *d) _warn_unused_;
