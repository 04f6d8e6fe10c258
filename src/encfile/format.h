/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the on-disk layout of encfile v1 (header, entries, geometry) and key derivation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/aead.h"
#include "encfile.h"

/* docs/encfile.md, "Layout" */
#define ENCFILE_MAGIC "VEILPFS\0"
#define ENCFILE_MAGIC_SIZE 8
#define ENCFILE_FORMAT_VERSION 1
#define ENCFILE_HEADER_SIZE 128
#define ENCFILE_NODE_SHIFT 16
#define ENCFILE_NODE_SIZE ((uint64_t)1 << ENCFILE_NODE_SHIFT)
#define ENCFILE_SALT_SIZE 16
#define ENCFILE_ENTRY_SIZE (ENCFILE_SALT_SIZE + VEIL_GCM_TAG_SIZE)
#define ENCFILE_FANOUT (ENCFILE_NODE_SIZE / ENCFILE_ENTRY_SIZE)
/* 2^40 bytes = 2^24 data nodes -> levels of 2^13, 4, 1 nodes: depth 3 at most */
#define ENCFILE_MAX_DEPTH 3

_Static_assert(ENCFILE_NODE_SIZE == VEIL_ENCFILE_NODE_SIZE, "node size");
_Static_assert(ENCFILE_ENTRY_SIZE == 32, "entry layout: salt 16 || tag 16");
_Static_assert(ENCFILE_FANOUT == 2048, "a full tree node is exactly one node");
_Static_assert(VEIL_ENCFILE_MAX_SIZE <= ENCFILE_NODE_SIZE * ENCFILE_FANOUT * ENCFILE_FANOUT * ENCFILE_FANOUT,
               "maximum size fits in ENCFILE_MAX_DEPTH tree levels");

/* Header field offsets (docs/encfile.md, "Header"). */
enum {
    HDR_OFF_MAGIC = 0,
    HDR_OFF_FORMAT_VERSION = 8,
    HDR_OFF_HEADER_SIZE = 10,
    HDR_OFF_NODE_SHIFT = 12,
    HDR_OFF_FLAGS = 13,
    HDR_OFF_RESERVED0 = 14,
    HDR_OFF_FILE_ID = 16,
    HDR_OFF_VERSION = 32,
    HDR_OFF_SIZE = 40,
    HDR_OFF_ROOT = 48,
    HDR_OFF_RESERVED1 = 80,
    HDR_OFF_MAC = 96,
    HDR_MAC_SIZE = 32,
};
_Static_assert(HDR_OFF_FILE_ID == HDR_OFF_RESERVED0 + 2, "header layout");
_Static_assert(HDR_OFF_VERSION == HDR_OFF_FILE_ID + VEIL_ENCFILE_FILE_ID_SIZE, "header layout");
_Static_assert(HDR_OFF_ROOT == HDR_OFF_SIZE + 8, "header layout");
_Static_assert(HDR_OFF_RESERVED1 == HDR_OFF_ROOT + ENCFILE_ENTRY_SIZE, "header layout");
_Static_assert(HDR_OFF_MAC == HDR_OFF_RESERVED1 + 16, "header layout");
_Static_assert(HDR_OFF_MAC + HDR_MAC_SIZE == ENCFILE_HEADER_SIZE, "header layout");

/* An entry: the salt of the write that sealed a node, and the node's GCM tag. All zero = hole. */
struct encfile_entry {
    uint8_t salt[ENCFILE_SALT_SIZE];
    uint8_t tag[VEIL_GCM_TAG_SIZE];
};
_Static_assert(sizeof(struct encfile_entry) == ENCFILE_ENTRY_SIZE, "entry has no padding");

bool encfile_entry_is_hole(const struct encfile_entry *e);

/* The header's fields, in host form. */
struct encfile_header {
    uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE];
    uint64_t version;
    uint64_t size;
    struct encfile_entry root;
};

/* K_hdr for a file id (docs/encfile.md, "Keys and nonces"). */
int encfile_header_key(const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE],
                       uint8_t ret_key[32]) _warn_unused_;
/* Encode and MAC a header (128 bytes). */
int encfile_header_encode(const struct encfile_header *h, const uint8_t hdr_key[32], const char *logical_path,
                          uint8_t out[ENCFILE_HEADER_SIZE]) _warn_unused_;
/* Check magic, version and reserved fields (-EBADMSG), then parse without authenticating. */
int encfile_header_parse(const uint8_t *data, size_t size, struct encfile_header *ret) _warn_unused_;
/* Check the header MAC in constant time (-EACCES). Call before trusting any parsed field. */
int encfile_header_check_mac(const uint8_t data[ENCFILE_HEADER_SIZE], const uint8_t hdr_key[32],
                             const char *logical_path) _warn_unused_;

/* The shape of a file of a given plaintext size (docs/encfile.md, "Layout"). */
struct encfile_geometry {
    uint64_t size;
    unsigned depth;                          /* tree levels; level `depth` is the root */
    uint64_t count[ENCFILE_MAX_DEPTH + 1];   /* nodes per level; count[0] = data nodes */
    uint64_t offset[ENCFILE_MAX_DEPTH + 1];  /* disk offset of node 0 of each level */
    uint64_t disk_size;
};
/* -EINVAL (or -EBADMSG for a parsed size) past VEIL_ENCFILE_MAX_SIZE. */
int encfile_geometry(uint64_t size, struct encfile_geometry *ret) _warn_unused_;
/* Number of children of tree node (level, index), level >= 1. */
uint64_t encfile_children(const struct encfile_geometry *g, unsigned level, uint64_t index);
/* Ciphertext length and disk offset of node (level, index). */
size_t encfile_node_size(const struct encfile_geometry *g, unsigned level, uint64_t index);
uint64_t encfile_node_offset(const struct encfile_geometry *g, unsigned level, uint64_t index);

/* Nonce and AAD of a node (docs/encfile.md, "Keys and nonces"). */
#define ENCFILE_AAD_SIZE (VEIL_ENCFILE_FILE_ID_SIZE + 4 + 8)
void encfile_nonce(unsigned level, uint64_t index, uint8_t ret[VEIL_GCM_IV_SIZE]);
void encfile_aad(const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE], unsigned level, uint64_t index,
                 uint8_t ret[ENCFILE_AAD_SIZE]);

/*
 * Keyed contexts by salt: K_node(salt) for one file id. Readers meet few salts
 * (one per write that touched the file), so a small LRU avoids re-deriving.
 */
#define ENCFILE_KEY_CACHE_SIZE 4
struct encfile_keys {
    const uint8_t *volume_key; /* borrowed: the handle's secbuf */
    uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE];
    struct {
        uint8_t salt[ENCFILE_SALT_SIZE];
        struct veil_aead *aead;
        uint64_t used;
    } slot[ENCFILE_KEY_CACHE_SIZE];
    uint64_t clock;
};
void encfile_keys_init(struct encfile_keys *k, const uint8_t *volume_key, const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE]);
void encfile_keys_done(struct encfile_keys *k);
int encfile_keys_get(struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE], struct veil_aead **ret) _warn_unused_;
/*
 * Deterministic store (docs/encfile.md, "Deterministic store"): the content
 * digest is SHA-256(label || u64 size || SHA-256 of each run of
 * ENCFILE_STORE_RUN nodes), begun here and fed the run digests by the caller;
 * file id and salt are HMACs under a key derived from the volume key.
 */
#define ENCFILE_STORE_RUN 8
struct veil_hash;
int encfile_content_digest_begin(uint64_t size, struct veil_hash **ret) _warn_unused_;
/* k_det: 32 bytes of the caller's secure memory for K_det (wiped before return). */
int encfile_deterministic_ids(const uint8_t key[VEIL_ENCFILE_KEY_SIZE], uint8_t k_det[32], const char *logical_path,
                              uint64_t version, uint64_t size, const uint8_t content_digest[32],
                              uint8_t ret_file_id[VEIL_ENCFILE_FILE_ID_SIZE], uint8_t ret_salt[ENCFILE_SALT_SIZE]) _warn_unused_;
/* A fresh random salt (never all-zero). */
int encfile_new_salt(uint8_t ret[ENCFILE_SALT_SIZE]) _warn_unused_;

/* Seal a node's plaintext (in may equal out) and fill its entry. */
int encfile_seal_node(struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE], unsigned level, uint64_t index,
                      const void *in, size_t size, void *out, struct encfile_entry *ret) _warn_unused_;
/* Open a node (in may equal out); -EACCES (out wiped) when its tag does not verify. */
int encfile_open_node(struct encfile_keys *k, const struct encfile_entry *e, unsigned level, uint64_t index,
                      const void *in, size_t size, void *out) _warn_unused_;

/* "data node 3", "tree node 1/0" or "the header", for error messages. */
const char *encfile_node_name(unsigned level, uint64_t index);
#define ENCFILE_TAMPER_HINT "(wrong key, tampered or swapped file)"

/*
 * The end of every write (flush and store): seal the tree levels above the given
 * level-0 entries (g->count[0] of them) with `salt`, write them to fd, then the
 * header, and return the root entry in ret_header->root. ret_header carries the
 * file id, version and size in. Holes stay holes: tree nodes whose children are
 * all holes are not written. Entries of level 0 are read only.
 */
int encfile_write_tree(int fd, struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE],
                       const struct encfile_geometry *g, const struct encfile_entry *level0,
                       const uint8_t hdr_key[32], const char *logical_path,
                       struct encfile_header *header) _warn_unused_;
