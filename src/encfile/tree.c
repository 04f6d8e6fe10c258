/* SPDX-License-Identifier: Apache-2.0 */
/* Sealing the tree above a level of data entries, and the header that closes every write. */
#include "format.h"

#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"

static bool entries_all_holes(const struct encfile_entry *e, uint64_t count) {
    for (uint64_t i = 0; i < count; i++)
        if (!encfile_entry_is_hole(&e[i])) return false;
    return true;
}

int encfile_write_tree(int fd, struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE],
                       const struct encfile_geometry *g, const struct encfile_entry *level0,
                       const uint8_t hdr_key[32], const char *logical_path, struct encfile_header *header) {
    _cleanup_free_ uint8_t *sealed = malloc(ENCFILE_NODE_SIZE);
    _cleanup_free_ struct encfile_entry *above = NULL;
    _cleanup_free_ struct encfile_entry *below_owned = NULL;
    const struct encfile_entry *below = level0;
    int r;

    if (!sealed) return -ENOMEM;
    /* the file gets its final length first, so that unwritten holes stay sparse */
    if (ftruncate(fd, (off_t)g->disk_size) < 0) return veil_err(-errno, "cannot size the new encrypted file");

    for (unsigned level = 1; level <= g->depth; level++) {
        above = calloc(g->count[level], sizeof(*above));
        if (!above) return -ENOMEM;
        for (uint64_t t = 0; t < g->count[level]; t++) {
            uint64_t children = encfile_children(g, level, t);
            const struct encfile_entry *child = below + t * ENCFILE_FANOUT;
            if (entries_all_holes(child, children)) continue; /* above[t] stays a hole */
            size_t size = (size_t)children * ENCFILE_ENTRY_SIZE;
            r = encfile_seal_node(k, salt, level, t, child, size, sealed, &above[t]);
            if (r < 0) return r;
            r = veil_pwrite_all(fd, sealed, size, (off_t)encfile_node_offset(g, level, t));
            if (r < 0) return veil_err(r, "cannot write the encrypted file");
        }
        free(below_owned);
        below_owned = TAKE_PTR(above);
        below = below_owned;
    }
    header->size = g->size;
    header->root = below[0];
    uint8_t hdr[ENCFILE_HEADER_SIZE];
    r = encfile_header_encode(header, hdr_key, logical_path, hdr);
    if (r < 0) return r;
    r = veil_pwrite_all(fd, hdr, sizeof(hdr), 0);
    if (r < 0) return veil_err(r, "cannot write the encrypted file");
    return 0;
}
