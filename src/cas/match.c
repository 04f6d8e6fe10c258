/* SPDX-License-Identifier: Apache-2.0 */
/* Match verified claims against a service's rules, with a reason for every refusal. */
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/random.h"
#include "policy.h"

static const char *hex_short(const uint8_t *data, size_t size, char out[2 * VEIL_MEASUREMENT_MAX + 1]) {
    veil_hex_encode(data, MIN(size, (size_t)VEIL_MEASUREMENT_MAX), out);
    return out;
}

int veil_cas_service_match(const struct veil_cas_service *s, const struct veil_claims *c) {
    char hex[2 * VEIL_MEASUREMENT_MAX + 1];
    if ((unsigned)c->tee >= 32 || !(s->tees & (1u << c->tee)))
        return veil_err(-EPERM, "TEE '%s' not accepted by service '%s'%s", veil_tee_name(c->tee), s->name,
                        c->tee == VEIL_TEE_SIM ? " (sim must be listed explicitly in tees)" : "");
    if ((unsigned)c->tcb_status >= 32 || !(s->tcb_statuses & (1u << c->tcb_status)))
        return veil_err(-EPERM, "TCB status '%s' not tolerated by service '%s'", veil_tcb_status_name(c->tcb_status),
                        s->name);
    /* sim is debug by construction (no memory protection at all); listing sim has accepted that */
    if (c->debug && !s->debug && c->tee != VEIL_TEE_SIM) return veil_err(-EPERM, "debug workload refused by service '%s'", s->name);
    if (s->measurement_count) {
        bool found = false;
        for (size_t i = 0; i < s->measurement_count && !found; i++)
            found = s->measurement_sizes[i] == c->measurement_size &&
                    veil_memeq_ct(s->measurements[i], c->measurement, c->measurement_size);
        if (!found)
            return veil_err(-EPERM, "measurement %s not allowed for service '%s'",
                            hex_short(c->measurement, c->measurement_size, hex), s->name);
    }
    if (s->signer_size) {
        if (s->signer_size != c->signer_size || !veil_memeq_ct(s->signer, c->signer, s->signer_size))
            return veil_err(-EPERM, "signer %s not allowed for service '%s'", hex_short(c->signer, c->signer_size, hex),
                            s->name);
        if (c->product_id != s->product_id)
            return veil_err(-EPERM, "product id %u not allowed for service '%s' (wants %u)", c->product_id, s->name,
                            s->product_id);
        if (c->security_version < s->min_security_version)
            return veil_err(-EPERM, "security version %u below minimum %u for service '%s'", c->security_version,
                            s->min_security_version, s->name);
    }
    return 0;
}
