/* SPDX-License-Identifier: Apache-2.0 */
/* Azure vTPM evidence: the SNP-signed HCL report vouches for the runtime claims, which name the AK that signs the TPM quote. */
#include "azure.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <string.h>

#include "azure-hcl.h"
#include "azure-tpm.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "snp.h"

/* base64url (or standard base64), padding optional, into a malloc'd buffer. */
static int base64_decode(const char *text, uint8_t **ret, size_t *ret_size) {
    size_t len = strlen(text);
    if (len > VEIL_AZURE_JSON_MAX_SIZE) return -EBADMSG;
    _cleanup_free_ char *std = malloc(len + 4);
    _cleanup_free_ uint8_t *out = malloc(len / 4 * 3 + 4);
    if (!std || !out) return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '=') break;
        std[n++] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    size_t pad = (4 - n % 4) % 4;
    if (pad == 3) return -EBADMSG;
    for (size_t i = 0; i < pad; i++) std[n++] = '=';
    int size = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
    if (size < 0) return -EBADMSG;
    *ret_size = (size_t)size - pad;
    *ret = TAKE_PTR(out);
    return 0;
}

static BIGNUM *jwk_bn(const json_t *jwk, const char *key) {
    const char *text = json_string_value(json_object_get(jwk, key));
    uint8_t *bytes;
    size_t size;
    if (!text || base64_decode(text, &bytes, &size) < 0) return NULL;
    BIGNUM *bn = size ? BN_bin2bn(bytes, (int)size, NULL) : NULL;
    free(bytes);
    return bn;
}

/* The RSA public key of the JWK named `kid` in the runtime claims' "keys". */
static int runtime_claims_key(const json_t *claims, const char *kid, EVP_PKEY **ret) {
    size_t i;
    const json_t *jwk, *found = NULL;
    json_array_foreach(json_object_get(claims, "keys"), i, jwk) {
        const char *id = json_string_value(json_object_get(jwk, "kid"));
        if (id && !strcmp(id, kid)) found = jwk;
    }
    if (!found) return veil_err(-EACCES, "runtime claims have no key '%s' (the vTPM attestation key)", kid);
    const char *kty = json_string_value(json_object_get(found, "kty"));
    if (!kty || strcmp(kty, "RSA")) return veil_err(-EBADMSG, "runtime claims key '%s' is not an RSA JWK", kid);
    _cleanup_(veil_bn_freep) BIGNUM *n = jwk_bn(found, "n");
    _cleanup_(veil_bn_freep) BIGNUM *e = jwk_bn(found, "e");
    if (!n || !e || BN_num_bits(n) < 2048 || BN_num_bits(n) > 4096)
        return veil_err(-EBADMSG, "runtime claims key '%s': n/e missing or not a 2048-4096-bit modulus", kid);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    int ok = bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 && (params = OSSL_PARAM_BLD_to_param(bld)) &&
             EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return veil_ossl_err(-EBADMSG, "cannot build the RSA attestation key");
    *ret = key;
    return 0;
}

static int verify_rsa_sha256(EVP_PKEY *key, const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size) {
    _cleanup_(veil_evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_size, data, size) == 1;
    ERR_clear_error();
    return ok ? 0 : -EACCES;
}

static int check_runtime_claims_digest(const struct veil_azure_hcl *hcl, const struct veil_snp_report *snp) {
    uint8_t digest[64] = { 0 };
    enum veil_hash_alg alg = hcl->hash_type == 1 ? VEIL_HASH_SHA256 : hcl->hash_type == 2 ? VEIL_HASH_SHA384 : VEIL_HASH_SHA512;
    size_t digest_size = veil_hash_size(alg);
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(alg, &h);
    if (r >= 0) r = veil_hash_update(h, hcl->runtime_claims, hcl->runtime_claims_size);
    if (r >= 0) r = veil_hash_final(h, digest);
    if (r < 0) return r;
    if (memcmp(digest, snp->report_data, 64) != 0) {
        char want[17], got[17];
        veil_hex_encode(digest, 8, want);
        veil_hex_encode(snp->report_data, 8, got);
        return veil_err(-EACCES, "HCL report: the SNP REPORT_DATA (%s…) is not the %zu-byte hash of the runtime claims (%s…, "
                        "zero-padded): the runtime claims were altered", got, digest_size, want);
    }
    return 0;
}

static int check_tpm_quote(const struct veil_azure_evidence *ev, EVP_PKEY *ak, struct veil_tpm_quote *ret_quote,
                           json_t *details) {
    if (verify_rsa_sha256(ak, ev->tpm_quote, ev->tpm_quote_size, ev->tpm_signature, ev->tpm_signature_size) < 0)
        return veil_err(-EACCES, "TPM quote signature (RSASSA-PKCS1-v1_5 SHA-256, %zu bytes) does not verify under the "
                        "attestation key HCLAkPub of the runtime claims", ev->tpm_signature_size);
    struct veil_tpm_quote q;
    int r = veil_tpm_quote_parse(ev->tpm_quote, ev->tpm_quote_size, &q);
    if (r < 0) return r;
    json_object_set_new(details, "tpm_nonce", veil_claims_hex_json(q.extra_data, q.extra_data_size));
    json_object_set_new(details, "tpm_pcr_mask", json_integer(q.pcr_mask));
    if (ev->pcrs) {
        if (q.pcr_hash != VEIL_TPM_ALG_SHA256)
            return veil_err(-EBADMSG, "TPM quote selects PCR bank 0x%04x; the PCR values given are SHA-256", q.pcr_hash);
        if (ev->pcrs_count > VEIL_TPM_PCR_COUNT) return veil_err(-EBADMSG, "more than 24 PCR values");
        _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
        r = veil_hash_new(VEIL_HASH_SHA256, &h);
        if (r < 0) return r;
        json_t *pcrs = json_object();
        json_object_set_new(details, "pcrs", pcrs);
        for (unsigned i = 0; i < VEIL_TPM_PCR_COUNT; i++) {
            if (!(q.pcr_mask & (1u << i))) continue;
            if (i >= ev->pcrs_count)
                return veil_err(-EBADMSG, "TPM quote selects PCR %u but only %zu PCR values were given", i, ev->pcrs_count);
            r = veil_hash_update(h, ev->pcrs + 32 * i, 32);
            if (r < 0) return r;
            char key[4];
            snprintf(key, sizeof(key), "%u", i);
            json_object_set_new(pcrs, key, veil_claims_hex_json(ev->pcrs + 32 * i, 32));
        }
        uint8_t digest[32];
        r = veil_hash_final(h, digest);
        if (r < 0) return r;
        if (q.pcr_digest_size != 32 || memcmp(digest, q.pcr_digest, 32) != 0)
            return veil_err(-EACCES, "TPM quote: pcrDigest does not match SHA-256 of the given PCR values (a PCR value was "
                            "altered)");
    }
    *ret_quote = q;
    return 0;
}

int veil_azure_verify(const struct veil_azure_evidence *ev, const struct veil_collateral *coll,
                      const struct veil_hw_options *opts, struct veil_claims **ret) {
    struct veil_azure_hcl hcl;
    int r = veil_azure_hcl_parse(ev->hcl_report, ev->hcl_report_size, &hcl);
    if (r < 0) return r;
    struct veil_snp_verified v;
    r = veil_snp_verify_report(hcl.hw_report, VEIL_HCL_HW_REPORT_SIZE, coll, opts, &v);
    if (r < 0) return veil_hw_err_prefix(r, "HCL report: ");
    r = check_runtime_claims_digest(&hcl, &v.report);
    if (r < 0) return r;
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *runtime = json_loadb((const char *)hcl.runtime_claims, hcl.runtime_claims_size,
                                                         JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(runtime)) return veil_err(-EBADMSG, "HCL runtime claims are not a JSON object: %s", jerr.text);
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *ak = NULL;
    r = runtime_claims_key(runtime, "HCLAkPub", &ak);
    if (r < 0) return r;

    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    r = veil_snp_claims(&v, &c);
    if (r < 0) return r;
    c->tee = VEIL_TEE_AZURE_SNP_VTPM;
    memset(c->report_data, 0, sizeof(c->report_data));
    const char *user_data = json_string_value(json_object_get(runtime, "user-data"));
    if (user_data && strlen(user_data) == 128 && veil_hex_decode(user_data, c->report_data, 64) < 0)
        return veil_err(-EBADMSG, "runtime claims: user-data is not 64 bytes of hex");
    if (ev->tpm_quote) {
        struct veil_tpm_quote q;
        r = check_tpm_quote(ev, ak, &q, c->details);
        if (r < 0) return r;
        memset(c->report_data, 0, sizeof(c->report_data));
        memcpy(c->report_data, q.extra_data, q.extra_data_size);
    }
    uint8_t ak_id[32];
    r = veil_key_id(ak, ak_id);
    if (r < 0) return r;
    json_object_set_new(c->details, "ak_sha256", veil_claims_hex_json(ak_id, 32));
    json_object_set_new(c->details, "runtime_claims", TAKE_PTR(runtime));
    json_object_set_new(c->details, "hcl_version", json_integer(hcl.version));
    if (c->debug && !(opts && opts->allow_debug))
        return veil_err(-EPERM, "SNP report: guest POLICY.DEBUG (bit 19) is set and debug guests are not allowed");
    r = veil_hw_check_report_data(opts, c->report_data, ev->tpm_quote ? "TPM quote nonce" : "HCL user-data");
    if (r < 0) return r;
    *ret = TAKE_PTR(c);
    return 0;
}

static int hex_member(const json_t *o, const char *key, uint8_t **ret, size_t *ret_size) {
    const char *hex = json_string_value(json_object_get(o, key));
    size_t len = hex ? strlen(hex) : 0;
    if (!hex || len % 2 || len > 8192) return veil_err(-EBADMSG, "Azure evidence: tpm_quote.%s is not hex", key);
    _cleanup_free_ uint8_t *out = malloc(len / 2 + 1);
    if (!out) return -ENOMEM;
    if (veil_hex_decode(hex, out, len / 2) < 0) return veil_err(-EBADMSG, "Azure evidence: tpm_quote.%s is not hex", key);
    *ret = TAKE_PTR(out);
    *ret_size = len / 2;
    return 0;
}

int veil_azure_verify_json(const uint8_t *json, size_t size, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_claims **ret) {
    if (size > VEIL_AZURE_JSON_MAX_SIZE) return veil_err(-EBADMSG, "Azure evidence: %zu bytes is over the limit", size);
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb((const char *)json, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) return veil_err(-EBADMSG, "Azure evidence is not a JSON object: %s", jerr.text);
    const json_t *tpm = json_object_get(root, "tpm_quote");
    const char *hcl_text = json_string_value(json_object_get(root, "hcl_report"));
    if (!json_is_object(tpm) || !hcl_text) return veil_err(-EBADMSG, "Azure evidence: needs \"hcl_report\" and \"tpm_quote\"");
    _cleanup_free_ uint8_t *hcl = NULL, *quote = NULL, *sig = NULL, *pcrs = NULL, *vcek = NULL;
    size_t hcl_size, quote_size, sig_size, vcek_size = 0;
    if (base64_decode(hcl_text, &hcl, &hcl_size) < 0) return veil_err(-EBADMSG, "Azure evidence: hcl_report is not base64");
    int r = hex_member(tpm, "message", &quote, &quote_size);
    if (r >= 0) r = hex_member(tpm, "signature", &sig, &sig_size);
    if (r < 0) return r;
    const json_t *list = json_object_get(tpm, "pcrs");
    size_t count = json_array_size(list);
    if (count > VEIL_TPM_PCR_COUNT) return veil_err(-EBADMSG, "Azure evidence: more than 24 PCRs");
    if (count) {
        pcrs = calloc(count, 32);
        if (!pcrs) return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
            const char *hex = json_string_value(json_array_get(list, i));
            if (!hex || veil_hex_decode(hex, pcrs + 32 * i, 32) < 0)
                return veil_err(-EBADMSG, "Azure evidence: PCR %zu is not 32 bytes of hex", i);
        }
    }
    _cleanup_(veil_collateral_freep) struct veil_collateral *all = NULL;
    r = veil_collateral_new(&all);
    if (r < 0) return r;
    for (int i = 0; coll && i < sk_X509_num(coll->certs); i++) {
        X509 *cert = sk_X509_value(coll->certs, i);
        if (!X509_up_ref(cert) || !sk_X509_push(all->certs, cert)) return -ENOMEM;
    }
    const char *vcek_text = json_string_value(json_object_get(root, "vcek"));
    if (vcek_text) {
        if (base64_decode(vcek_text, &vcek, &vcek_size) < 0) return veil_err(-EBADMSG, "Azure evidence: vcek is not base64");
        r = veil_collateral_add(all, vcek, vcek_size, "evidence vcek");
        if (r < 0) return r;
    }
    struct veil_azure_evidence ev = {
        .hcl_report = hcl, .hcl_report_size = hcl_size,
        .tpm_quote = quote, .tpm_quote_size = quote_size,
        .tpm_signature = sig, .tpm_signature_size = sig_size,
        .pcrs = pcrs, .pcrs_count = count,
    };
    return veil_azure_verify(&ev, all, opts, ret);
}
