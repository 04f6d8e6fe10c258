/* SPDX-License-Identifier: Apache-2.0 */
/* Renewal of the certificates a policy issued, before they expire (CAs first, then what they issued). */
#include <openssl/pem.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/ossl.h"
#include "policy.h"
#include "secret.h"
#include "store-internal.h"

/* A certificate is renewed once two thirds of its validity have passed. */
static int due(const struct veil_secbuf *m, time_t now, bool *ret) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_mem_buf(m->data, (int)m->size);
    _cleanup_(veil_x509_freep) X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (!cert) return veil_ossl_err(-EBADMSG, "stored certificate");
    struct tm nb, na;
    if (!ASN1_TIME_to_tm(X509_get0_notBefore(cert), &nb) || !ASN1_TIME_to_tm(X509_get0_notAfter(cert), &na))
        return veil_err(-EBADMSG, "stored certificate validity");
    time_t not_before = timegm(&nb), not_after = timegm(&na);
    *ret = now >= not_after - (not_after - not_before) / 3;
    return 0;
}

struct renew_args {
    const struct veil_cas_policy *policy;
    time_t now;
    const char *subject;
    size_t renewed;
};

static int renew(struct veil_cas_store *s, void *arg) {
    struct renew_args *a = arg;
    const struct veil_cas_policy *p = a->policy;
    struct veil_buf names = { .limit = 64 * 1024 };
    int r = 0;
    a->renewed = 0;
    /* pass 0: CAs; pass 1: leaves, also every leaf whose CA was just renewed */
    bool ca_renewed[VEIL_CAS_MAX_SECRETS] = { 0 };
    for (int pass = 0; pass < 2 && r >= 0; pass++)
        for (size_t i = 0; i < p->secret_count && r >= 0; i++) {
            const struct veil_cas_secret *def = &p->secrets[i];
            if (def->kind != (pass ? VEIL_CAS_SECRET_X509 : VEIL_CAS_SECRET_X509_CA)) continue;
            _cleanup_secbuf_ struct veil_secbuf *m = NULL, *issuer = NULL, *fresh = NULL;
            bool renew_it = false;
            if ((r = veil_cas_secret_load(s, p->name, def->name, NULL, &m)) < 0) break;
            if ((r = due(m, a->now, &renew_it)) < 0) break;
            if (pass) {
                for (size_t j = 0; j < p->secret_count; j++)
                    if (ca_renewed[j] && !strcmp(p->secrets[j].name, def->issuer)) renew_it = true;
                if (renew_it && (r = veil_cas_secret_load(s, p->name, def->issuer, NULL, &issuer)) < 0) break;
            }
            if (!renew_it) continue;
            if ((r = veil_cas_secret_generate(def, issuer, &fresh)) < 0 ||
                (r = veil_cas_secret_save(s, p->name, def, fresh)) < 0)
                break;
            if (!pass) ca_renewed[i] = true;
            a->renewed++;
            r = veil_buf_printf(&names, "%s\"%s\"", names.size ? "," : "", def->name);
        }
    if (r >= 0 && a->renewed) {
        struct veil_buf detail = { .limit = 80 * 1024 };
        r = veil_buf_printf(&detail, "{\"renewed\":[%s]}", (const char *)names.data);
        if (r >= 0) r = veil_cas_audit_append(s, "secret.renewed", p->name, a->subject, (const char *)detail.data);
        veil_buf_done(&detail);
    }
    veil_buf_done(&names);
    return r;
}

int veil_cas_store_renew_certificates(struct veil_cas_store *s, const struct veil_cas_policy *policy, time_t now,
                                      const char *subject, size_t *ret_renewed) {
    struct renew_args a = { .policy = policy, .now = now, .subject = subject };
    int r = veil_cas_store_write(s, renew, &a);
    if (r >= 0 && ret_renewed) *ret_renewed = a.renewed;
    return r;
}
