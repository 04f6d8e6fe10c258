/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the manifest decoder: the signed loader, and the structural checks behind the signature. */
#include <stdlib.h>
#include <string.h>

#include "manifest/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_manifest *m = NULL;
    if (veil_manifest_load(data, size, &m) == 0) veil_manifest_free(m);

    /* the structure alone (no signature), so the fuzzer reaches every check; walk what loads */
    if (size < 64 || size > VEIL_MANIFEST_MAX_SIZE) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (veil_manifest_parse_body(copy, size, size, &m) < 0) return 0;
    for (size_t i = 0; i < veil_manifest_entry_count(m); i++) {
        struct veil_manifest_entry e;
        veil_manifest_entry_at(m, i, &e);
        if (veil_manifest_find(m, e.path, e.path_size, NULL) != 0) abort();
        (void)veil_manifest_classify(m, e.path, e.path_size, NULL, NULL);
    }
    veil_manifest_free(m);
    return 0;
}
