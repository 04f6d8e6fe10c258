/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the evidence envelope and the sim evidence parser, and sim verification up to a fixed root. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/evidence.h"
#include "evidence/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *roots[1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!roots[0]) {
        struct veil_sim_platform *p;
        if (veil_sim_platform_new(&p) < 0) abort();
        roots[0] = X509_dup(p->root);
        veil_sim_platform_free(p);
    }
    struct veil_sim_evidence raw;
    if (veil_sim_evidence_parse(data, size, &raw) == 0 && raw.cert_count == 0) abort();

    struct veil_evidence ev;
    if (veil_evidence_decode(data, size, &ev) < 0) return 0;
    if (ev.tee != VEIL_TEE_SIM) return 0;
    struct veil_verify_options opts = { .allow_sim = true, .sim_roots = roots, .sim_roots_count = 1 };
    struct veil_claims *claims = NULL;
    if (veil_evidence_verify(data, size, &opts, &claims) == 0) {
        json_t *j = veil_claims_to_json(claims);
        json_decref(j);
        veil_claims_free(claims);
    }
    return 0;
}
