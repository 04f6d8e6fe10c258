/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 checks shared by the hardware verifiers, each failure naming the certificate, the check and the values. */
#pragma once

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/macro.h"

void veil_x509_stack_free(STACK_OF(X509) *s);
VEIL_DEFINE_CLEANUP(STACK_OF(X509) *, veil_x509_stack_free, veil_x509_stack_freep)

/* Largest certificate bundle we parse (a PCK chain is about 4 KiB). */
#define VEIL_CERTS_MAX_SIZE ((size_t)1 << 20)

/* "2025-06-20T00:00:00Z" (RFC 3339, UTC, optional fraction) to time_t. */
int veil_time_parse(const char *text, time_t *ret) _warn_unused_;
/* time_t as "2025-06-20T00:00:00Z"; out must hold 21 bytes. */
void veil_time_format(time_t t, char out[static 21]);

/* Append every certificate in data (one or more PEM blocks, or one DER certificate) to out. */
int veil_certs_parse(const uint8_t *data, size_t size, STACK_OF(X509) *out) _warn_unused_;
/* The certificate's subject commonName, for messages ("?" when absent). */
const char *veil_cert_cn(const X509 *cert, char *buf, size_t size);
/* SHA-256 of the DER certificate / of its SubjectPublicKeyInfo. */
int veil_cert_sha256(X509 *cert, uint8_t out[32]) _warn_unused_;
int veil_cert_spki_sha256(X509 *cert, uint8_t out[32]) _warn_unused_;

/* -EACCES unless now lies in [notBefore, notAfter]; the detail names `what` and the window. */
int veil_cert_check_time(X509 *cert, time_t now, const char *what) _warn_unused_;
/* -EACCES unless parent's subject is child's issuer and parent's key verifies child's signature
 * (any algorithm OpenSSL knows, RSASSA-PSS included). Validity of both at `now` is checked too. */
int veil_cert_check_issued(X509 *child, X509 *parent, time_t now, const char *child_what,
                           const char *parent_what) _warn_unused_;
/* Among `pool`, a certificate whose subject is child's issuer and whose key verifies child
 * (one valid at now when there are several), or NULL. */
X509 *veil_cert_find_issuer(STACK_OF(X509) *pool, X509 *child, time_t now);

/*
 * Revocation: crl must be signed by issuer, current at `now` (thisUpdate <= now <= nextUpdate),
 * and must not list cert's serial. -EACCES with the reason otherwise.
 */
int veil_crl_check(X509_CRL *crl, X509 *issuer, X509 *cert, time_t now, const char *what) _warn_unused_;
/* Among crls from issuer (by name) whose signature verifies, one current at now, else the most
 * recent; else any from that issuer; or NULL. */
X509_CRL *veil_crl_find(STACK_OF(X509_CRL) *crls, X509 *issuer, time_t now);
