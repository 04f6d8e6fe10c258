/* SPDX-License-Identifier: Apache-2.0 */
/* Issuing X.509 certificates (self-signed or by an issuer key), for the sim platform and RA-TLS. */
#pragma once

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/macro.h"

/*
 * What to put in a certificate. The serial number is 16 random bytes. The
 * signature hash follows the issuer key: SHA-384 for P-384, SHA-256 for P-256,
 * none for Ed25519. A CA gets basicConstraints CA:TRUE (critical) and keyUsage
 * keyCertSign; a leaf gets CA:FALSE and digitalSignature.
 */
struct veil_cert_params {
    const char *common_name;
    time_t not_before;
    time_t not_after;
    bool is_ca;
    /* an optional extra extension: dotted OID and its extnValue contents (the bytes inside the OCTET STRING) */
    const char *extension_oid;
    const uint8_t *extension_value;
    size_t extension_size;
    bool extension_critical;
};

/*
 * Issue a certificate for subject_key. With issuer == NULL it is self-signed by
 * issuer_key (which must then be the subject key); otherwise the issuer name is
 * taken from issuer and it is signed with issuer_key.
 */
int veil_cert_issue(const struct veil_cert_params *params, EVP_PKEY *subject_key, X509 *issuer,
                    EVP_PKEY *issuer_key, X509 **ret) _warn_unused_;

/* DER encoding of a certificate (malloc'd). */
int veil_cert_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_size) _warn_unused_;
/* Parse exactly one DER certificate (untrusted bytes). */
int veil_cert_from_der(const uint8_t *der, size_t size, X509 **ret) _warn_unused_;
int veil_cert_load_pem(const char *path, X509 **ret) _warn_unused_;
int veil_cert_save_pem(X509 *cert, const char *path) _warn_unused_;
