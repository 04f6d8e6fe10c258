/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the RA-TLS evidence extension (CBOR) parser, and whole-certificate verification when the input is DER. */
#include <openssl/err.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "ratls/ratls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *envelope;
    size_t envelope_size;
    if (veil_ratls_extension_parse(data, size, &envelope, &envelope_size) == 0) {
        struct veil_evidence ev;
        if (veil_evidence_decode(envelope, envelope_size, &ev) == 0 && !ev.item[VEIL_EVIDENCE_REPORT]) abort();
    }
    const unsigned char *p = data;
    X509 *cert = d2i_X509(NULL, &p, (long)size);
    if (cert) {
        /* a fixed root nobody's evidence chains to: exercises every check up to the chain */
        struct veil_ratls_verifier v = { .verify = { .sim_root_path = "/nonexistent" } };
        /* pin the time inside the certificate's validity so that checks past it are reached */
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1) v.verify.now = timegm(&tm) + 1;
        veil_policy_init(&v.policy);
        v.policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
        struct veil_claims *claims = NULL;
        if (veil_ratls_verify_cert(cert, &v, &claims) == 0) abort(); /* nothing chains to no root */
        veil_claims_free(claims);
        X509_free(cert);
    }
    ERR_clear_error();
    return 0;
}
