/* SPDX-License-Identifier: Apache-2.0 */
/* Where each node of a file of a given size lives (docs/encfile.md, "Layout"). */
#include "format.h"

#include "base/err.h"

int encfile_geometry(uint64_t size, struct encfile_geometry *ret) {
    if (size > VEIL_ENCFILE_MAX_SIZE)
        return veil_err(-EINVAL, "size %llu is larger than the format's limit", (unsigned long long)size);
    struct encfile_geometry g = { .size = size };
    g.count[0] = (size + ENCFILE_NODE_SIZE - 1) / ENCFILE_NODE_SIZE;
    g.offset[0] = ENCFILE_HEADER_SIZE;
    uint64_t pos = ENCFILE_HEADER_SIZE + size;
    unsigned k = 0;
    do {
        k++;
        g.count[k] = MAX((uint64_t)1, (g.count[k - 1] + ENCFILE_FANOUT - 1) / ENCFILE_FANOUT);
        g.offset[k] = pos;
        /* level k holds one entry per node of level k-1 */
        pos += g.count[k - 1] * ENCFILE_ENTRY_SIZE;
    } while (g.count[k] > 1);
    g.depth = k;
    g.disk_size = pos;
    *ret = g;
    return 0;
}

uint64_t encfile_children(const struct encfile_geometry *g, unsigned level, uint64_t index) {
    uint64_t first = index * ENCFILE_FANOUT, below = g->count[level - 1];
    return first >= below ? 0 : MIN((uint64_t)ENCFILE_FANOUT, below - first);
}

size_t encfile_node_size(const struct encfile_geometry *g, unsigned level, uint64_t index) {
    if (level == 0) return (size_t)MIN(ENCFILE_NODE_SIZE, g->size - index * ENCFILE_NODE_SIZE);
    return (size_t)(encfile_children(g, level, index) * ENCFILE_ENTRY_SIZE);
}

uint64_t encfile_node_offset(const struct encfile_geometry *g, unsigned level, uint64_t index) {
    return g->offset[level] + index * ENCFILE_NODE_SIZE;
}
