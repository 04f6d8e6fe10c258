/* SPDX-License-Identifier: Apache-2.0 */
/* Cleanup helpers for OpenSSL objects, and the one place OpenSSL's error queue is read. */
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/macro.h"

VEIL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free, veil_evp_pkey_freep)
VEIL_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free, veil_evp_pkey_ctx_freep)
VEIL_DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free, veil_evp_md_ctx_freep)
VEIL_DEFINE_CLEANUP(X509 *, X509_free, veil_x509_freep)
VEIL_DEFINE_CLEANUP(X509_CRL *, X509_CRL_free, veil_x509_crl_freep)
VEIL_DEFINE_CLEANUP(X509_STORE *, X509_STORE_free, veil_x509_store_freep)
VEIL_DEFINE_CLEANUP(X509_STORE_CTX *, X509_STORE_CTX_free, veil_x509_store_ctx_freep)
VEIL_DEFINE_CLEANUP(BIO *, BIO_free_all, veil_bio_freep)
VEIL_DEFINE_CLEANUP(BIGNUM *, BN_free, veil_bn_freep)
VEIL_DEFINE_CLEANUP(ECDSA_SIG *, ECDSA_SIG_free, veil_ecdsa_sig_freep)
VEIL_DEFINE_CLEANUP(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free, veil_asn1_octet_string_freep)
VEIL_DEFINE_CLEANUP(ASN1_OBJECT *, ASN1_OBJECT_free, veil_asn1_object_freep)
VEIL_DEFINE_CLEANUP(X509_EXTENSION *, X509_EXTENSION_free, veil_x509_extension_freep)

/* Record OpenSSL's most recent error (and clear the queue) as the detail for err; returns err. */
int veil_ossl_err(int err, const char *what);
