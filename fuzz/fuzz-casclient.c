/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the workload's parser of veil-cas replies (configuration and error reasons) and of the manifest's service address. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "casclient/casclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t which = data[0] % 3;
    data++;
    size--;
    if (which == 0) {
        struct veil_casclient_config *c = NULL;
        if (veil_casclient_config_parse(data, size, &c) == 0) {
            (void)veil_casclient_config_volume(c, "data");
            veil_casclient_config_free(c);
        }
    } else if (which == 1) {
        char reason[256];
        veil_casclient_error_reason(data, size, reason, sizeof(reason));
    } else {
        /* address NUL policy */
        char text[512];
        if (size >= sizeof(text)) return 0;
        memcpy(text, data, size);
        text[size] = 0;
        size_t n = strlen(text);
        const char *policy = n < size ? text + n + 1 : "a/b";
        struct veil_casclient_target t;
        if (veil_casclient_target_parse(text, policy, &t) == 0 && t.port == 0) __builtin_trap();
    }
    return 0;
}
