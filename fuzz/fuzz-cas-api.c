/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the veil-cas request body parsers; the first byte picks the endpoint. */
#include <stddef.h>
#include <stdint.h>

#include "cas/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t which = data[0] % 4;
    data++;
    size--;
    switch (which) {
    case 0: {
        struct veil_cas_apply_request r;
        if (veil_cas_api_parse_apply(data, size, &r) == 0) veil_cas_apply_request_done(&r);
        break;
    }
    case 1: {
        struct veil_cas_attest_request r;
        if (veil_cas_api_parse_attest(data, size, &r) == 0) veil_cas_attest_request_done(&r);
        break;
    }
    case 2: {
        struct veil_cas_volume_request r;
        if (veil_cas_api_parse_volume(data, size, &r) == 0) veil_cas_volume_request_done(&r);
        break;
    }
    default: {
        int64_t v;
        if (veil_cas_api_parse_accept(data, size, &v) == 0) (void)v;
        break;
    }
    }
    return 0;
}
