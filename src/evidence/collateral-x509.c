/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate, chain-link and CRL checks with messages that say which check failed and why. */
#include "collateral-x509.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/hash.h"
#include "crypto/ossl.h"

void veil_x509_stack_free(STACK_OF(X509) *s) {
    sk_X509_pop_free(s, X509_free);
}

int veil_time_parse(const char *text, time_t *ret) {
    struct tm tm = { 0 };
    char rest[32] = "";
    if (!text || strlen(text) > 40 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%31s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, rest) != 7)
        return veil_err(-EBADMSG, "time '%s' is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)", text ? text : "");
    const char *p = rest;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (strcmp(p, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return veil_err(-EBADMSG, "time '%s' is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)", text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ret = timegm(&tm);
    return 0;
}

void veil_time_format(time_t t, char out[static 21]) {
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) strcpy(out, "?");
}

int veil_certs_parse(const uint8_t *data, size_t size, STACK_OF(X509) *out) {
    if (size > VEIL_CERTS_MAX_SIZE) return veil_err(-EBADMSG, "certificate bundle of %zu bytes is too large", size);
    if (size > 0 && data[0] == 0x30) {
        const unsigned char *p = data;
        X509 *cert = d2i_X509(NULL, &p, (long)size);
        if (!cert) return veil_ossl_err(-EBADMSG, "cannot parse DER certificate");
        if (!sk_X509_push(out, cert)) {
            X509_free(cert);
            return -ENOMEM;
        }
        return 0;
    }
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_mem_buf(data, (int)size);
    if (!bio) return -ENOMEM;
    unsigned count = 0;
    for (;;) {
        X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!cert) break;
        if (!sk_X509_push(out, cert)) {
            X509_free(cert);
            return -ENOMEM;
        }
        count++;
    }
    ERR_clear_error();
    if (count == 0) return veil_err(-EBADMSG, "no certificate found (neither DER nor PEM)");
    return 0;
}

const char *veil_cert_cn(const X509 *cert, char *buf, size_t size) {
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)size) <= 0)
        snprintf(buf, size, "?");
    return buf;
}

int veil_cert_sha256(X509 *cert, uint8_t out[32]) {
    unsigned char *der = NULL;
    int size = i2d_X509(cert, &der);
    if (size <= 0) return veil_ossl_err(-EBADMSG, "cannot encode certificate");
    int r = veil_sha256(der, (size_t)size, out);
    OPENSSL_free(der);
    return r;
}

int veil_cert_spki_sha256(X509 *cert, uint8_t out[32]) {
    unsigned char *der = NULL;
    int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (size <= 0) return veil_ossl_err(-EBADMSG, "cannot encode public key");
    int r = veil_sha256(der, (size_t)size, out);
    OPENSSL_free(der);
    return r;
}

static void asn1_time_text(const ASN1_TIME *t, char out[static 21]) {
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        strcpy(out, "?");
        return;
    }
    veil_time_format(timegm(&tm), out);
}

int veil_cert_check_time(X509 *cert, time_t now, const char *what) {
    const ASN1_TIME *nb = X509_get0_notBefore(cert), *na = X509_get0_notAfter(cert);
    char b[21], a[21], n[21];
    asn1_time_text(nb, b);
    asn1_time_text(na, a);
    veil_time_format(now, n);
    int before = nb ? X509_cmp_time(nb, &now) : 0, after = na ? X509_cmp_time(na, &now) : 0;
    if (before == 0 || after == 0) /* X509_cmp_time's 0 means it could not compare */
        return veil_err(-EBADMSG, "%s certificate: validity times are malformed", what);
    if (before > 0)
        return veil_err(-EACCES, "%s certificate not yet valid: notBefore %s is after the verification time %s", what, b, n);
    if (after < 0)
        return veil_err(-EACCES, "%s certificate expired: notAfter %s is before the verification time %s", what, a, n);
    return 0;
}

static bool signature_verifies(X509 *child, X509 *parent) {
    EVP_PKEY *key = X509_get0_pubkey(parent);
    bool ok = key && X509_verify(child, key) == 1;
    ERR_clear_error();
    return ok;
}

int veil_cert_check_issued(X509 *child, X509 *parent, time_t now, const char *child_what,
                           const char *parent_what) {
    char cn_issuer[128], cn_parent[128];
    int r = veil_cert_check_time(child, now, child_what);
    if (r < 0) return r;
    r = veil_cert_check_time(parent, now, parent_what);
    if (r < 0) return r;
    if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(parent)) != 0) {
        X509_NAME_get_text_by_NID(X509_get_issuer_name(child), NID_commonName, cn_issuer, sizeof(cn_issuer));
        return veil_err(-EACCES, "%s certificate: issuer is '%s', expected the %s '%s'", child_what, cn_issuer,
                        parent_what, veil_cert_cn(parent, cn_parent, sizeof(cn_parent)));
    }
    /* basicConstraints CA:TRUE and, when present, keyUsage keyCertSign: a leaf key (VCEK,
     * PCK) must not be able to vouch for a certificate of its own making. */
    if (X509_check_ca(parent) < 1)
        return veil_err(-EACCES, "%s certificate '%s' is not a CA certificate and cannot issue the %s certificate",
                        parent_what, veil_cert_cn(parent, cn_parent, sizeof(cn_parent)), child_what);
    if (!signature_verifies(child, parent))
        return veil_err(-EACCES, "%s certificate: signature does not verify under the %s key ('%s')", child_what,
                        parent_what, veil_cert_cn(parent, cn_parent, sizeof(cn_parent)));
    return 0;
}

static bool valid_at(X509 *cert, time_t now) {
    int before = X509_cmp_time(X509_get0_notBefore(cert), &now), after = X509_cmp_time(X509_get0_notAfter(cert), &now);
    return before < 0 && after > 0; /* 0 is "cannot compare" (or exactly equal: harmless to skip) */
}

X509 *veil_cert_find_issuer(STACK_OF(X509) *pool, X509 *child, time_t now) {
    /* Vendors reissue CA certificates with the same key and name: prefer one valid at now. */
    X509 *any = NULL;
    for (int i = 0; i < sk_X509_num(pool); i++) {
        X509 *c = sk_X509_value(pool, i);
        if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(c)) != 0 || !signature_verifies(child, c))
            continue;
        if (valid_at(c, now)) return c;
        if (!any) any = c;
    }
    return any;
}

X509_CRL *veil_crl_find(STACK_OF(X509_CRL) *crls, X509 *issuer, time_t now) {
    /* A collateral directory may hold last month's CRL beside this month's: of the CRLs
     * from this issuer whose signature verifies, prefer one current at now, else the
     * most recent; when none verifies, return one anyway so the check names the problem. */
    X509_CRL *current = NULL, *latest = NULL, *any = NULL;
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) continue;
        if (!any) any = crl;
        bool verifies = key && X509_CRL_verify(crl, key) == 1;
        ERR_clear_error();
        if (!verifies) continue;
        const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl), *next = X509_CRL_get0_nextUpdate(crl);
        if (!latest || ASN1_TIME_compare(last, X509_CRL_get0_lastUpdate(latest)) > 0) latest = crl;
        if (last && next && X509_cmp_time(last, &now) < 0 && X509_cmp_time(next, &now) > 0 &&
            (!current || ASN1_TIME_compare(last, X509_CRL_get0_lastUpdate(current)) > 0))
            current = crl;
    }
    return current ? current : latest ? latest : any;
}

int veil_crl_check(X509_CRL *crl, X509 *issuer, X509 *cert, time_t now, const char *what) {
    char cn[128], t1[21], t2[21], n[21];
    veil_cert_cn(issuer, cn, sizeof(cn));
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    if (!key || X509_CRL_verify(crl, key) != 1) {
        ERR_clear_error();
        return veil_err(-EACCES, "CRL of '%s': signature does not verify under the issuer's key", cn);
    }
    const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl), *next = X509_CRL_get0_nextUpdate(crl);
    asn1_time_text(last, t1);
    asn1_time_text(next, t2);
    veil_time_format(now, n);
    int since = last ? X509_cmp_time(last, &now) : 0, until = next ? X509_cmp_time(next, &now) : 0;
    if (since == 0 || until == 0)
        return veil_err(-EACCES, "CRL of '%s': thisUpdate/nextUpdate missing or malformed", cn);
    if (since > 0)
        return veil_err(-EACCES, "CRL of '%s' not yet valid: thisUpdate %s is after the verification time %s", cn, t1, n);
    if (until < 0)
        return veil_err(-EACCES, "CRL of '%s' is stale: nextUpdate %s is before the verification time %s", cn, t2, n);
    X509_REVOKED *revoked = NULL;
    if (X509_CRL_get0_by_cert(crl, &revoked, cert) == 1) {
        char serial[80] = "?";
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (hex) snprintf(serial, sizeof(serial), "%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
        return veil_err(-EACCES, "%s certificate (serial %s) is revoked by the CRL of '%s'", what, serial, cn);
    }
    return 0;
}
