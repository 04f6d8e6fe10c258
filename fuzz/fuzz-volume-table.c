/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the parser of a volume's table of file versions (the plaintext of PATH/.veil-volume); round-trip what parses. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shield/volume-table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_volume_table t;
    if (veil_volume_table_parse(data, size, &t) < 0) return 0;
    struct veil_buf out = { 0 };
    /* entries are kept in order, so the encoding is the input again */
    if (veil_volume_table_encode(&t, &out) < 0 || out.size != size || memcmp(out.data, data, size)) __builtin_trap();
    veil_buf_done(&out);
    veil_volume_table_done(&t);
    return 0;
}
