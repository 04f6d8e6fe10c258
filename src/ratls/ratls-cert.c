/* SPDX-License-Identifier: Apache-2.0 */
/* Creating RA-TLS certificates: a fresh key, report data binding it, evidence in the extension. */
#include <assert.h>
#include <string.h>

#include "base/err.h"
#include "crypto/certgen.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "ratls.h"

int veil_ratls_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size, uint8_t ret[VEIL_REPORT_DATA_SIZE]) {
    static_assert(VEIL_SHA512_SIZE == VEIL_REPORT_DATA_SIZE, "report data is one SHA-512");
    if (nonce_size > VEIL_RATLS_NONCE_MAX) return veil_err(-EINVAL, "RA-TLS nonce longer than %d bytes", VEIL_RATLS_NONCE_MAX);
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_size;
    int r = veil_key_public_der(key, &spki, &spki_size);
    if (r < 0) return r;
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    r = veil_hash_new(VEIL_HASH_SHA512, &h);
    if (r >= 0) r = veil_hash_update(h, VEIL_RATLS_DOMAIN, sizeof(VEIL_RATLS_DOMAIN)); /* includes the NUL */
    if (r >= 0) r = veil_hash_update(h, spki, spki_size);
    if (r >= 0 && nonce_size) r = veil_hash_update(h, nonce, nonce_size);
    if (r >= 0) r = veil_hash_final(h, ret);
    return r;
}

int veil_ratls_cert_new(EVP_PKEY *key, const uint8_t *envelope, size_t size, const struct veil_ratls_options *opts,
                        X509 **ret_cert) {
    static const struct veil_ratls_options defaults = { 0 };
    if (!opts) opts = &defaults;
    struct veil_buf ext = { 0 };
    int r = veil_ratls_extension_encode(envelope, size, &ext);
    if (r < 0) return r;
    time_t now = time(NULL);
    struct veil_cert_params params = {
        .common_name = opts->common_name ? opts->common_name : "veil RA-TLS",
        .not_before = opts->not_before ? opts->not_before : now - VEIL_RATLS_CLOCK_SKEW,
        .not_after = opts->not_after ? opts->not_after : now + VEIL_RATLS_DEFAULT_VALIDITY,
        .extension_oid = VEIL_RATLS_EVIDENCE_OID,
        .extension_value = ext.data,
        .extension_size = ext.size,
    };
    r = veil_cert_issue(&params, key, NULL, key, ret_cert);
    veil_buf_done(&ext);
    return r;
}

typedef int (*evidence_getter)(const void *arg1, const void *arg2, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                               struct veil_buf *out);

static int create(evidence_getter get, const void *arg1, const void *arg2, const struct veil_ratls_options *opts,
                  EVP_PKEY **ret_key, X509 **ret_cert) {
    static const struct veil_ratls_options defaults = { 0 };
    if (!opts) opts = &defaults;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    int r = veil_key_generate(opts->p384 ? VEIL_KEY_ECDSA_P384 : VEIL_KEY_ECDSA_P256, &key);
    if (r < 0) return r;
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
    r = veil_ratls_report_data(key, opts->nonce, opts->nonce_size, report_data);
    if (r < 0) return r;
    struct veil_buf evidence = { 0 };
    r = get(arg1, arg2, report_data, &evidence);
    X509 *cert = NULL;
    if (r >= 0) r = veil_ratls_cert_new(key, evidence.data, evidence.size, opts, &cert);
    veil_buf_done(&evidence);
    if (r < 0) return r;
    *ret_key = TAKE_PTR(key);
    *ret_cert = cert;
    return 0;
}

static int get_from_tee(const void *attest, const void *unused, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                        struct veil_buf *out) {
    (void)unused;
    return veil_evidence_get(attest, report_data, out);
}

static int get_from_sim(const void *platform, const void *claims, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                        struct veil_buf *out) {
    return veil_sim_get_evidence(platform, claims, report_data, out);
}

int veil_ratls_create(const struct veil_attest_options *attest, const struct veil_ratls_options *opts,
                      EVP_PKEY **ret_key, X509 **ret_cert) {
    return create(get_from_tee, attest, NULL, opts, ret_key, ret_cert);
}

int veil_ratls_create_sim(const struct veil_sim_platform *platform, const struct veil_sim_claims *claims,
                          const struct veil_ratls_options *opts, EVP_PKEY **ret_key, X509 **ret_cert) {
    return create(get_from_sim, platform, claims, opts, ret_key, ret_cert);
}
