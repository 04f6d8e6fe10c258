/* SPDX-License-Identifier: Apache-2.0 */
/* Generating secrets of each kind, and rendering them into template fields. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/secbuf.h"
#include "policy.h"

/*
 * Stored material per kind (what the store encrypts):
 *   random, password, imported: the bytes themselves;
 *   private_key: PKCS#8 PEM;
 *   x509_ca, x509: certificate PEM followed by PKCS#8 key PEM.
 * `issuer` is the material of the issuing x509_ca (x509 only, else NULL).
 */
int veil_cas_secret_generate(const struct veil_cas_secret *def, const struct veil_secbuf *issuer,
                             struct veil_secbuf **ret) _warn_unused_;

/*
 * The text a template field expands to (appended to out, a secbuf grown as needed).
 * `issuer` is the issuing CA's material for x509 fields "ca" and "chain".
 */
int veil_cas_secret_render(const struct veil_cas_secret *def, const struct veil_secbuf *material,
                           const struct veil_secbuf *issuer, const char *field, struct veil_secbuf *out) _warn_unused_;

/* Append bytes to a secbuf, growing it (its size is the bytes in use). */
int veil_cas_secbuf_append(struct veil_secbuf *b, const void *data, size_t size) _warn_unused_;

/* A self-signed service or client certificate for TLS (ECDSA P-256), used by the server
 * identity and by owner key generation. */
int veil_cas_self_signed(const char *common_name, uint32_t valid_days, EVP_PKEY **ret_key, X509 **ret_cert) _warn_unused_;

/* SHA-256 of a certificate's SubjectPublicKeyInfo DER: the identity owners list. */
int veil_cas_cert_key_id(X509 *cert, uint8_t ret[32]) _warn_unused_;
/* SHA-256 of the whole certificate DER (also accepted in owner lists). */
int veil_cas_cert_fingerprint(X509 *cert, uint8_t ret[32]) _warn_unused_;
