/* SPDX-License-Identifier: Apache-2.0 */
/* DCAP quote verification shared by TDX and SGX: every link from the quote to Intel's root and collateral. */
#include "dcap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/err.h"
#include "base/fileio.h"
#include "collateral-x509.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "dcap-tcb.h"

void veil_dcap_verified_done(struct veil_dcap_verified *v) {
    json_decref(v->details);
    v->details = NULL;
}

static bool is_pinned_root(X509 *cert, const struct veil_hw_options *opts) {
    uint8_t digest[32];
    char hex[65];
    if (veil_cert_sha256(cert, digest) < 0) return false;
    veil_hex_encode(digest, 32, hex);
    if (strcmp(hex, VEIL_INTEL_SGX_ROOT_CA_SHA256) == 0) return true;
    for (size_t i = 0; opts && i < opts->extra_intel_roots_count; i++)
        if (X509_cmp(cert, opts->extra_intel_roots[i]) == 0) return true;
    return false;
}

static X509 *find_issuer2(STACK_OF(X509) *a, STACK_OF(X509) *b, X509 *child, time_t now) {
    X509 *issuer = a ? veil_cert_find_issuer(a, child, now) : NULL;
    return issuer ? issuer : veil_cert_find_issuer(b, child, now);
}

/*
 * Walk from `leaf` up to the pinned Intel SGX Root CA, checking each link at now.
 * *ret_issuer is leaf's direct issuer.
 */
static int chain_to_root(X509 *leaf, const char *leaf_what, STACK_OF(X509) *pool_a, STACK_OF(X509) *pool_b, time_t now,
                         const struct veil_hw_options *opts, X509 **ret_issuer) {
    X509 *cert = leaf;
    char what[128], cn[128], issuer_cn[128] = "?";
    snprintf(what, sizeof(what), "%s", leaf_what);
    for (int depth = 0; depth < 4; depth++) {
        X509 *issuer = find_issuer2(pool_a, pool_b, cert, now);
        if (!issuer) {
            X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, issuer_cn, sizeof(issuer_cn));
            return veil_err(-EACCES, "%s certificate: no supplied certificate '%s' verifies its signature", what, issuer_cn);
        }
        if (depth == 0 && ret_issuer) *ret_issuer = issuer;
        int r = veil_cert_check_issued(cert, issuer, now, what, veil_cert_cn(issuer, cn, sizeof(cn)));
        if (r < 0) return r;
        if (issuer == cert || X509_NAME_cmp(X509_get_subject_name(issuer), X509_get_issuer_name(issuer)) == 0) {
            if (issuer != cert) {
                r = veil_cert_check_issued(issuer, issuer, now, cn, "self-signed root");
                if (r < 0) return r;
            }
            if (!is_pinned_root(issuer, opts)) {
                uint8_t d[32];
                char hex[65] = "?";
                if (veil_cert_sha256(issuer, d) == 0) veil_hex_encode(d, 32, hex);
                return veil_err(-EACCES, "%s chain ends at '%s' (SHA-256 %s), not the pinned Intel SGX Root CA (%s)", leaf_what,
                                cn, hex, VEIL_INTEL_SGX_ROOT_CA_SHA256);
            }
            return 0;
        }
        cert = issuer;
        snprintf(what, sizeof(what), "%s", cn);
    }
    return veil_err(-EACCES, "%s chain is longer than 4 certificates", leaf_what);
}

static X509 *find_root(STACK_OF(X509) *a, STACK_OF(X509) *b, const struct veil_hw_options *opts) {
    for (int k = 0; k < 2; k++) {
        STACK_OF(X509) *s = k ? b : a;
        for (int i = 0; s && i < sk_X509_num(s); i++)
            if (is_pinned_root(sk_X509_value(s, i), opts)) return sk_X509_value(s, i);
    }
    return NULL;
}

static int missing(const struct veil_hw_options *opts, json_t *details, const char *item, const char *message) {
    if (opts && opts->allow_incomplete_collateral) {
        json_t *list = json_object_get(details, "collateral_missing");
        if (!list) json_object_set_new(details, "collateral_missing", list = json_array());
        size_t i;
        json_t *have;
        bool dup = false;
        json_array_foreach(list, i, have) dup = dup || !strcmp(json_string_value(have), item);
        if (!dup) json_array_append_new(list, json_string(item));
        return 0;
    }
    return veil_err(-EACCES, "%s", message);
}

/* Revocation of `cert` by the CRL of `issuer`. */
static int check_revocation(const struct veil_collateral *coll, const struct veil_hw_options *opts, json_t *details,
                            X509 *issuer, X509 *cert, const char *what, const char *item, time_t now) {
    char cn[128], message[256];
    X509_CRL *crl = veil_crl_find(coll->crls, issuer, now);
    if (!crl) {
        snprintf(message, sizeof(message), "no CRL issued by '%s' in the collateral (supply the PCS CRL)",
                 veil_cert_cn(issuer, cn, sizeof(cn)));
        return missing(opts, details, item, message);
    }
    return veil_crl_check(crl, issuer, cert, now, what);
}

/* A signed Intel collateral document: signature by a certificate chained to the root, window at now. */
static int verify_signed_json(const struct veil_collateral *coll, const struct veil_signed_json *item, const char *what,
                              time_t now, const struct veil_hw_options *opts, json_t *details) {
    /* The TCB Signing certificate is reissued with the same key: every certificate whose
     * key verifies the document is a candidate, and the first whose chain holds at now wins. */
    char signer_what[160], first_error[512] = "";
    snprintf(signer_what, sizeof(signer_what), "%s signing", what);
    bool any = false;
    for (int i = 0; i < sk_X509_num(coll->certs); i++) {
        X509 *signer = sk_X509_value(coll->certs, i);
        EVP_PKEY *key = X509_get0_pubkey(signer);
        /* the signer is a leaf (Intel SGX TCB Signing): skip CA certificates before any signature math */
        if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || X509_check_ca(signer) != 0) continue;
        if (veil_ecdsa_verify_raw(key, VEIL_HASH_SHA256, item->body, item->body_size, item->signature,
                                  item->signature + 32, 32) < 0)
            continue;
        any = true;
        X509 *issuer = NULL;
        int r = chain_to_root(signer, signer_what, NULL, coll->certs, now, opts, &issuer);
        if (r >= 0 && issuer && X509_NAME_cmp(X509_get_subject_name(issuer), X509_get_subject_name(signer)) != 0)
            r = check_revocation(coll, opts, details, issuer, signer, signer_what, "root_ca_crl", now);
        if (r >= 0) return veil_dcap_check_window(item->json, now, what);
        if (!first_error[0]) snprintf(first_error, sizeof(first_error), "%s", veil_err_msg());
    }
    if (any) return veil_err(-EACCES, "%s", first_error);
    veil_err_clear();
    return veil_err(-EACCES, "%s (%s): signature does not verify under any supplied certificate (is the Intel SGX TCB "
                    "Signing certificate in the collateral, and the document unmodified?)", what, item->origin);
}


static bool hex_equal_ci(const char *hex, const uint8_t *bytes, size_t size) {
    char want[2 * 64 + 1];
    if (!hex || size > 64) return false;
    veil_hex_encode(bytes, size, want);
    return strcasecmp(hex, want) == 0;
}

static int check_tcb_info(const struct veil_collateral *coll, const struct veil_hw_options *opts, bool tdx,
                          const struct veil_pck_info *pck, const struct veil_tdx_report_body *td, time_t now,
                          enum veil_tcb_status *ret, json_t *advisories, json_t *details) {
    const char *want_id = tdx ? "TDX" : "SGX";
    char fmspc[13], other[128] = "";
    veil_hex_encode(pck->fmspc, 6, fmspc);
    int last = 0;
    bool any_kind = false;
    for (size_t i = 0; i < coll->items_count; i++) {
        const struct veil_signed_json *item = &coll->items[i];
        if (item->kind != VEIL_SIGNED_TCB_INFO) continue;
        const char *id = json_string_value(json_object_get(item->json, "id"));
        if (strcmp(id ? id : "SGX", want_id)) continue; /* version 2 TCB info is SGX and has no id */
        any_kind = true;
        const char *item_fmspc = json_string_value(json_object_get(item->json, "fmspc"));
        if (!hex_equal_ci(item_fmspc, pck->fmspc, 6)) {
            size_t used = strlen(other);
            snprintf(other + used, sizeof(other) - used, "%s%s", used ? ", " : "", item_fmspc ? item_fmspc : "?");
            continue;
        }
        char what[64];
        snprintf(what, sizeof(what), "%s TCB info for FMSPC %s", want_id, fmspc);
        last = verify_signed_json(coll, item, what, now, opts, details);
        if (last < 0) continue;
        if (!hex_equal_ci(json_string_value(json_object_get(item->json, "pceId")), pck->pce_id, 2)) {
            last = veil_err(-EACCES, "%s: pceId does not match the PCK certificate's PCE-ID %02x%02x", what, pck->pce_id[0],
                            pck->pce_id[1]);
            continue;
        }
        const json_t *tcb_type = json_object_get(item->json, "tcbType");
        if (tcb_type && json_integer_value(tcb_type) != 0) {
            last = veil_err(-EBADMSG, "%s: tcbType %lld is not supported (only 0: SVN-by-SVN comparison)", what,
                            json_integer_value(tcb_type));
            continue;
        }
        json_object_set_new(details, "tcb_evaluation_data_number",
                            json_deep_copy(json_object_get(item->json, "tcbEvaluationDataNumber")));
        return veil_dcap_tcb_status(item->json, pck, td, ret, advisories, details);
    }
    if (last < 0) return last;
    if (any_kind && other[0])
        return veil_err(-EACCES, "mismatched FMSPC: the PCK certificate's FMSPC is %s, but the %s TCB info in the collateral "
                        "is for %s", fmspc, want_id, other);
    return veil_err(-EACCES, "no %s TCB info for FMSPC %s in the collateral (fetch it from PCS: /%s/certification/v4/tcb?fmspc=%s)",
                    want_id, fmspc, tdx ? "tdx" : "sgx", fmspc);
}

static int check_qe_identity(const struct veil_collateral *coll, const struct veil_hw_options *opts, bool tdx,
                             const struct veil_sgx_report_body *qe, time_t now, enum veil_tcb_status *ret,
                             json_t *advisories, json_t *details) {
    const char *want_id = tdx ? "TD_QE" : "QE";
    int last = 0;
    for (size_t i = 0; i < coll->items_count; i++) {
        const struct veil_signed_json *item = &coll->items[i];
        if (item->kind != VEIL_SIGNED_QE_IDENTITY) continue;
        const char *id = json_string_value(json_object_get(item->json, "id"));
        if (!id || strcmp(id, want_id)) continue;
        char what[64];
        snprintf(what, sizeof(what), "%s identity", want_id);
        last = verify_signed_json(coll, item, what, now, opts, details);
        if (last < 0) continue;
        return veil_dcap_qe_status(item->json, qe, ret, advisories);
    }
    if (last < 0) return last;
    char message[128];
    snprintf(message, sizeof(message), "no %s identity in the collateral (fetch it from PCS: .../qe/identity)", want_id);
    *ret = VEIL_TCB_UP_TO_DATE; /* only used when incomplete collateral is allowed */
    return missing(opts, details, "qe_identity", message);
}

int veil_dcap_verify_quote(const uint8_t *data, size_t size, bool tdx, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_dcap_verified *ret) {
    time_t now = opts && opts->now ? opts->now : time(NULL);
    struct veil_dcap_verified v;
    memset(&v, 0, sizeof(v));
    int r = veil_dcap_quote_parse(data, size, &v.quote);
    if (r < 0) return r;
    const struct veil_dcap_quote *q = &v.quote;
    bool is_tdx = q->tee_type == VEIL_DCAP_TEE_TDX;
    if (is_tdx != tdx)
        return veil_err(-EBADMSG, "DCAP quote is an %s quote (TEE type 0x%x), expected %s", is_tdx ? "TDX" : "SGX",
                        q->tee_type, tdx ? "TDX" : "SGX");
    if (memcmp(q->qe_vendor_id, veil_dcap_intel_qe_vendor_id, 16) != 0)
        return veil_err(-EACCES, "DCAP quote: QE vendor id is not Intel's (939a7233f79c4ca9940a0db3957f0607)");

    /* 2. quote signature */
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *att_key = NULL;
    r = veil_ec_key_from_xy(VEIL_KEY_ECDSA_P256, q->att_key, 64, &att_key);
    if (r < 0) return veil_err(-EACCES, "DCAP quote: attestation key is not a P-256 point");
    r = veil_ecdsa_verify_raw(att_key, VEIL_HASH_SHA256, q->signed_data, q->signed_size, q->signature, q->signature + 32, 32);
    if (r < 0)
        return veil_err(-EACCES, "DCAP quote signature (ECDSA P-256 over header and body, %zu bytes) does not verify under "
                        "the attestation key", q->signed_size);

    /* 3. QE report binding */
    uint8_t binding[32];
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r >= 0) r = veil_hash_update(h, q->att_key, 64);
    if (r >= 0) r = veil_hash_update(h, q->qe_auth, q->qe_auth_size);
    if (r >= 0) r = veil_hash_final(h, binding);
    if (r < 0) return r;
    static const uint8_t zero[32];
    if (memcmp(binding, q->qe_report.report_data, 32) != 0 || memcmp(zero, q->qe_report.report_data + 32, 32) != 0) {
        char want[65], got[65];
        veil_hex_encode(binding, 32, want);
        veil_hex_encode(q->qe_report.report_data, 32, got);
        return veil_err(-EACCES, "QE report does not bind the attestation key: REPORTDATA is %s…, expected "
                        "SHA-256(attestation key || QE auth data) = %s", got, want);
    }

    /* 4. PCK chain and the QE report signature */
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *chain = sk_X509_new_null();
    if (!chain) return -ENOMEM;
    r = veil_certs_parse(q->pck_chain, q->pck_chain_size, chain);
    if (r < 0) return veil_hw_err_prefix(-EBADMSG, "DCAP quote: PCK certificate chain: ");
    X509 *pck = sk_X509_value(chain, 0), *pck_ca = NULL;
    r = chain_to_root(pck, "PCK", chain, coll->certs, now, opts, &pck_ca);
    if (r < 0) return r;
    EVP_PKEY *pck_key = X509_get0_pubkey(pck);
    if (!pck_key || veil_ecdsa_verify_raw(pck_key, VEIL_HASH_SHA256, q->qe_report_raw, VEIL_SGX_REPORT_BODY_SIZE,
                                          q->qe_report_signature, q->qe_report_signature + 32, 32) < 0)
        return veil_err(-EACCES, "QE report signature does not verify under the PCK certificate's key");
    r = veil_pck_info_parse(pck, &v.pck);
    if (r < 0) return r;

    _cleanup_(json_decrefp) json_t *details = json_object();
    _cleanup_(json_decrefp) json_t *advisories = json_array();
    if (!details || !advisories) return -ENOMEM;

    /* 5. revocation of the PCK and of its CA */
    r = check_revocation(coll, opts, details, pck_ca, pck, "PCK", "pck_crl", now);
    if (r < 0) return r;
    X509 *root = find_root(chain, coll->certs, opts);
    if (root && pck_ca != root) {
        r = check_revocation(coll, opts, details, root, pck_ca, "PCK CA", "root_ca_crl", now);
        if (r < 0) return r;
    }

    /* 6. TCB status */
    enum veil_tcb_status platform, qe_status;
    r = check_tcb_info(coll, opts, tdx, &v.pck, tdx ? &q->td : NULL, now, &platform, advisories, details);
    if (r < 0) return r;
    r = check_qe_identity(coll, opts, tdx, &q->qe_report, now, &qe_status, advisories, details);
    if (r < 0) return r;
    v.tcb_status = veil_dcap_tcb_converge(platform, qe_status);

    char fmspc[13], pce_id[5];
    veil_hex_encode(v.pck.fmspc, 6, fmspc);
    veil_hex_encode(v.pck.pce_id, 2, pce_id);
    json_object_set_new(details, "fmspc", json_string(fmspc));
    json_object_set_new(details, "pce_id", json_string(pce_id));
    json_object_set_new(details, "qe_tcb_status", json_string(veil_tcb_status_name(qe_status)));
    json_object_set_new(details, "tcb_status", json_string(veil_tcb_status_name(v.tcb_status)));
    json_object_set(details, "advisory_ids", advisories);
    json_object_set_new(details, "quote_version", json_integer(q->version));
    if (q->trailing_size) json_object_set_new(details, "quote_trailing_bytes", json_integer((json_int_t)q->trailing_size));
    v.details = TAKE_PTR(details);
    *ret = v;
    return 0;
}

static bool advisory_allowed(const char *id, const char *const *allowed) {
    for (size_t i = 0; allowed && allowed[i]; i++)
        if (!strcmp(allowed[i], "*") || !strcasecmp(allowed[i], id)) return true;
    return false;
}

int veil_dcap_check_policy(const struct veil_dcap_verified *v, const struct veil_hw_options *opts) {
    uint32_t accepted = opts && opts->accepted_tcb ? opts->accepted_tcb : VEIL_TCB_ACCEPT_DEFAULT;
    if (!(accepted & (1u << v->tcb_status))) {
        char list[256] = "";
        for (unsigned s = 0; s <= VEIL_TCB_REVOKED; s++)
            if (accepted & (1u << s)) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", veil_tcb_status_name(s));
            }
        const char *reason = json_string_value(json_object_get(v->details, "tcb_status_reason"));
        return veil_err(-EPERM, "TCB status is %s%s%s%s, which the policy does not accept (accepted: %s)",
                        veil_tcb_status_name(v->tcb_status), reason ? " (" : "", reason ? reason : "", reason ? ")" : "",
                        list);
    }
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(v->details, "advisory_ids"), i, id) {
        if (!advisory_allowed(json_string_value(id), opts ? opts->allowed_advisories : NULL))
            return veil_err(-EPERM, "advisory %s applies to this platform and the policy does not allow it",
                            json_string_value(id));
    }
    return 0;
}
