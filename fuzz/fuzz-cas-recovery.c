/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the framing parser of veil-cas's master.recovery file. */
#include <stddef.h>
#include <stdint.h>

#include "cas/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_cas_recovery_blob b;
    if (veil_cas_recovery_parse(data, size, &b) == 0 && b.header_size + 60 != size) __builtin_trap();
    return 0;
}
