/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the veil-cas policy parser (YAML from owners is untrusted until the owner is checked). */
#include <stddef.h>
#include <stdint.h>

#include "cas/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_cas_policy *p = NULL;
    if (veil_cas_policy_parse(data, size, &p) == 0) veil_cas_policy_free(p);
    return 0;
}
