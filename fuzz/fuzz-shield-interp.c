/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the interpreter lookup ("#!" lines, ELF64 program headers) over arbitrary executable heads. */
#include <stdint.h>
#include <string.h>

#include "shield/interp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[VEIL_SHIELD_INTERP_MAX];
    if (veil_shield_interpreter(data, size, path, sizeof(path)) == 0 && strlen(path) >= sizeof(path)) __builtin_trap();
    return 0;
}
