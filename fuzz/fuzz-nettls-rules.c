/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the network rules parser (an image's /etc/veil/nettls.conf) and the look-ups over what it returns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nettls/nettls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_nettls_rules *rs = NULL;
    if (veil_nettls_rules_parse(data, size, &rs) < 0) {
        if (rs) __builtin_trap();
        return 0;
    }
    if (rs->listen_count + rs->connect_count > VEIL_NETTLS_RULES_MAX_COUNT) __builtin_trap();
    for (size_t i = 0; i < rs->listen_count; i++)
        if (rs->listen[i].port == 0 || veil_nettls_rules_find_listen(rs, rs->listen[i].port) != &rs->listen[i])
            __builtin_trap();
    for (size_t i = 0; i < rs->connect_count; i++) {
        const struct veil_nettls_connect *c = &rs->connect[i];
        if (c->port == 0 || !c->host[0] || !c->service[0] || strlen(c->host) > VEIL_NETTLS_HOST_MAX ||
            strlen(c->service) > VEIL_NETTLS_SERVICE_MAX || c->address_count != 0)
            __builtin_trap();
    }
    free(rs);
    return 0;
}
