/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the layer reader: libarchive's tar parsing plus veil's flattening rules and symlink checks. */
#include <archive.h>

#include "image/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct image_tree *t;
    if (image_tree_new(&t) < 0) return 0;
    /* the input twice, as two layers, so that whiteouts and replacements meet lower entries */
    for (unsigned layer = 0; layer < 2; layer++) {
        struct archive *a = image_tar_reader_new();
        if (!a) break;
        int r = archive_read_open_memory(a, data, size) == ARCHIVE_OK ? image_layer_apply(t, a, layer, NULL) : -1;
        archive_read_free(a);
        if (r < 0) break;
    }
    if (image_tree_check_symlinks(t) < 0) { /* refused: fine */ }
    struct image_node **nodes;
    size_t count;
    if (image_tree_list(t, &nodes, &count) == 0) free(nodes);
    image_tree_free(t);
    return 0;
}
