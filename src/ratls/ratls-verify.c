/* SPDX-License-Identifier: Apache-2.0 */
/* Judging an RA-TLS certificate: validity, self-signature, evidence, key binding, policy. */
#include <openssl/err.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "ratls.h"

static int check_validity(X509 *cert, time_t now) {
    time_t t = now ? now : time(NULL);
    if (X509_cmp_time(X509_get0_notBefore(cert), &t) >= 0)
        return veil_err(-EACCES, "RA-TLS certificate is not yet valid");
    if (X509_cmp_time(X509_get0_notAfter(cert), &t) <= 0) return veil_err(-EACCES, "RA-TLS certificate has expired");
    return 0;
}

/* The extension's contents (borrowed from cert). */
static int find_extension(X509 *cert, const uint8_t **ret, size_t *ret_size) {
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *oid = OBJ_txt2obj(VEIL_RATLS_EVIDENCE_OID, 1);
    if (!oid) return -ENOMEM;
    int index = X509_get_ext_by_OBJ(cert, oid, -1);
    if (index < 0) return veil_err(-EACCES, "RA-TLS certificate carries no evidence extension (%s)", VEIL_RATLS_EVIDENCE_OID);
    if (X509_get_ext_by_OBJ(cert, oid, index) >= 0) return veil_err(-EBADMSG, "RA-TLS certificate has two evidence extensions");
    ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    if (!value) return veil_err(-EBADMSG, "RA-TLS evidence extension is empty");
    *ret = ASN1_STRING_get0_data(value);
    *ret_size = (size_t)ASN1_STRING_length(value);
    return 0;
}

int veil_ratls_cert_get_evidence(X509 *cert, const uint8_t **ret_envelope, size_t *ret_size) {
    const uint8_t *ext = NULL;
    size_t ext_size = 0;
    int r = find_extension(cert, &ext, &ext_size);
    if (r < 0) return r;
    return veil_ratls_extension_parse(ext, ext_size, ret_envelope, ret_size);
}

int veil_ratls_verify_cert(X509 *cert, const struct veil_ratls_verifier *v, struct veil_claims **ret_claims) {
    int r = check_validity(cert, v->verify.now);
    if (r < 0) return r;
    EVP_PKEY *key = X509_get0_pubkey(cert);
    if (!key) return veil_ossl_err(-EBADMSG, "RA-TLS certificate key");
    if (X509_verify(cert, key) != 1) return veil_ossl_err(-EACCES, "RA-TLS certificate is not validly self-signed");

    const uint8_t *envelope = NULL;
    size_t envelope_size = 0;
    r = veil_ratls_cert_get_evidence(cert, &envelope, &envelope_size);
    if (r < 0) return r;

    struct veil_verify_options opts = v->verify;
    opts.allow_sim = !!(v->policy.allowed_tees & VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM));
    _cleanup_(veil_claims_freep) struct veil_claims *claims = NULL;
    r = veil_evidence_verify(envelope, envelope_size, &opts, &claims);
    if (r < 0) return r;

    uint8_t expected[VEIL_REPORT_DATA_SIZE];
    r = veil_ratls_report_data(key, v->nonce, v->nonce_size, expected);
    if (r < 0) return r;
    if (!veil_memeq_ct(expected, claims->report_data, sizeof(expected)))
        return veil_err(-EACCES, "RA-TLS: the certificate's key is not bound to the evidence (report data differs: "
                                 "evidence lifted from another certificate%s?)", v->nonce_size ? " or a stale nonce" : "");

    struct veil_policy policy = v->policy;
    policy.check_report_data = false; /* the binding above is the report-data rule */
    r = veil_policy_check(&policy, claims);
    if (ret_claims && (r >= 0 || r == -EPERM)) *ret_claims = TAKE_PTR(claims);
    return r;
}
