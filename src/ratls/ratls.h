/* SPDX-License-Identifier: Apache-2.0 */
/* Attested TLS: X.509 certificates whose extension carries evidence bound to the certificate's key. */
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "base/macro.h"
#include "evidence/evidence.h"
#include "evidence/sim.h"

/*
 * The certificate (docs/ratls.md has the exact encoding):
 *  - a fresh ECDSA key (P-256 by default), self-signed, CN "veil RA-TLS";
 *  - report data = SHA-512("veil-ratls-v1\0" || SubjectPublicKeyInfo DER || nonce), the nonce
 *    empty unless a protocol supplies one (the DER SPKI delimits itself, so the join is unambiguous);
 *  - extension 2.23.133.5.4.9 (TCG DICE tcg-dice-conceptual-message-wrapper, as the
 *    interoperable RA-TLS proposal uses it), non-critical, whose extnValue OCTET STRING holds
 *    the CBOR item  tag(1986357612 = 0x7665696C "veil", bstr(evidence envelope)).
 */
#define VEIL_RATLS_EVIDENCE_OID "2.23.133.5.4.9"
#define VEIL_RATLS_CBOR_TAG 0x7665696CULL
#define VEIL_RATLS_DOMAIN "veil-ratls-v1" /* followed by a NUL byte in the digest input */
#define VEIL_RATLS_NONCE_MAX 64
#define VEIL_RATLS_DEFAULT_VALIDITY (24 * 3600)
#define VEIL_RATLS_CLOCK_SKEW 60

struct veil_ratls_options {
    bool p384;              /* ECDSA P-384 instead of P-256 */
    time_t not_before;      /* 0 = now - VEIL_RATLS_CLOCK_SKEW */
    time_t not_after;       /* 0 = now + VEIL_RATLS_DEFAULT_VALIDITY */
    const uint8_t *nonce;   /* optional, at most VEIL_RATLS_NONCE_MAX bytes */
    size_t nonce_size;
    const char *common_name; /* NULL = "veil RA-TLS" */
};

/* The report data that binds key (and nonce) to evidence. */
int veil_ratls_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                           uint8_t ret[VEIL_REPORT_DATA_SIZE]) _warn_unused_;

/* The extension's CBOR value for an envelope, and its parser (untrusted bytes: borrows from data). */
int veil_ratls_extension_encode(const uint8_t *envelope, size_t size, struct veil_buf *out) _warn_unused_;
int veil_ratls_extension_parse(const uint8_t *data, size_t size, const uint8_t **ret_envelope,
                               size_t *ret_size) _warn_unused_;

/* The evidence envelope inside an RA-TLS certificate (borrowed from cert; not verified). */
int veil_ratls_cert_get_evidence(X509 *cert, const uint8_t **ret_envelope, size_t *ret_size) _warn_unused_;

/* A self-signed certificate for key carrying envelope (which the caller obtained for key's report data). */
int veil_ratls_cert_new(EVP_PKEY *key, const uint8_t *envelope, size_t size, const struct veil_ratls_options *opts,
                        X509 **ret_cert) _warn_unused_;

/* A fresh key and its RA-TLS certificate, with evidence from the TEE that attest selects. */
int veil_ratls_create(const struct veil_attest_options *attest, const struct veil_ratls_options *opts,
                      EVP_PKEY **ret_key, X509 **ret_cert) _warn_unused_;
/* The same with an in-memory sim platform (services, tests, benchmarks). */
int veil_ratls_create_sim(const struct veil_sim_platform *platform, const struct veil_sim_claims *claims,
                          const struct veil_ratls_options *opts, EVP_PKEY **ret_key, X509 **ret_cert) _warn_unused_;

/* How a peer's RA-TLS certificate is judged. */
struct veil_ratls_verifier {
    struct veil_policy policy;            /* its report-data rule is replaced by the key binding */
    struct veil_verify_options verify;    /* `now` also applies to the certificate's validity;
                                             sim_roots must outlive any SSL_CTX configured with it */
    const uint8_t *nonce;                 /* the nonce the peer had to bind, if the protocol has one */
    size_t nonce_size;
};

/*
 * Check an RA-TLS certificate: validity period at `now`, self-signature, the
 * evidence (through the dispatcher), the key binding, then the policy. Returns 0,
 * or -EACCES / -EBADMSG / -EPERM with a veil_err() detail naming the reason. On a
 * policy refusal (-EPERM from the policy) the verified claims are still returned.
 */
int veil_ratls_verify_cert(X509 *cert, const struct veil_ratls_verifier *v, struct veil_claims **ret_claims) _warn_unused_;

/* Present key+cert on ctx (client or server) and require TLS 1.3. */
int veil_ratls_ssl_ctx_use(SSL_CTX *ctx, EVP_PKEY *key, X509 *cert) _warn_unused_;
/*
 * Require and verify the peer's RA-TLS certificate with v (copied) through
 * SSL_CTX_set_cert_verify_callback: a server demands a client certificate, a client
 * checks the server's. A refused handshake leaves its reason on the SSL object.
 */
int veil_ratls_ssl_ctx_require_peer(SSL_CTX *ctx, bool server, const struct veil_ratls_verifier *v) _warn_unused_;
/* Why the peer's certificate was refused on this connection, or NULL when it was not. */
const char *veil_ratls_peer_reason(const SSL *ssl);
/* The peer's verified claims (borrowed, valid while ssl lives), or NULL. */
const struct veil_claims *veil_ratls_peer_claims(const SSL *ssl);
