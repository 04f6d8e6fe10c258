/* SPDX-License-Identifier: Apache-2.0 */
/* Signing a canonical manifest body, and the measurement that binds runtime and manifest. */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/key.h"
#include "format.h"
#include "internal.h"

int veil_manifest_sign(const uint8_t *body, size_t body_size, EVP_PKEY *key, uint8_t **ret_data, size_t *ret_size) {
    _cleanup_free_ uint8_t *spki = NULL, *sig = NULL;
    size_t spki_size, sig_size;
    int r = veil_key_public_der(key, &spki, &spki_size);
    if (r < 0) return r;
    if ((r = veil_sign(key, body, body_size, &sig, &sig_size)) < 0) return r;
    if (spki_size > MF_MAX_KEY_BLOB || sig_size > MF_MAX_KEY_BLOB) return veil_err(-EINVAL, "signer key is too large");
    struct veil_buf out = { .limit = VEIL_MANIFEST_MAX_SIZE };
    r = veil_buf_append(&out, body, body_size);
    if (r >= 0) r = veil_buf_append_u32le(&out, (uint32_t)spki_size);
    if (r >= 0) r = veil_buf_append(&out, spki, spki_size);
    if (r >= 0) r = veil_buf_append_u32le(&out, (uint32_t)sig_size);
    if (r >= 0) r = veil_buf_append(&out, sig, sig_size);
    if (r < 0) {
        veil_buf_done(&out);
        return r;
    }
    *ret_data = veil_buf_steal(&out, ret_size);
    return 0;
}

int veil_manifest_measurement(const uint8_t runtime_digest[VEIL_SHA256_SIZE], const uint8_t manifest_digest[VEIL_SHA256_SIZE],
                              uint8_t out[VEIL_SHA256_SIZE]) {
    uint8_t input[sizeof(MF_MEASUREMENT_CONTEXT) + 2 * VEIL_SHA256_SIZE];
    memcpy(input, MF_MEASUREMENT_CONTEXT, sizeof(MF_MEASUREMENT_CONTEXT)); /* with its NUL: 20 bytes */
    memcpy(input + sizeof(MF_MEASUREMENT_CONTEXT), runtime_digest, VEIL_SHA256_SIZE);
    memcpy(input + sizeof(MF_MEASUREMENT_CONTEXT) + VEIL_SHA256_SIZE, manifest_digest, VEIL_SHA256_SIZE);
    return veil_sha256(input, sizeof(input), out);
}
