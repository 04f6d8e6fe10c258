/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP report verification: the key certificate, its AMD chain, the vendor extensions and the claims. */
#include "snp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "collateral-der.h"
#include "collateral-x509.h"
#include "crypto/key.h"
#include "crypto/ossl.h"

/*
 * The AMD root keys (ARK) we trust (besides those a caller's trust directory adds), as SHA-256 of their SubjectPublicKeyInfo DER.
 * From https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain; the same
 * ARK anchors both the ASK (VCEK) and the ASVK (VLEK) chains of a product.
 */
static const struct {
    enum veil_snp_product product;
    const char *spki_sha256;
} pinned_arks[] = {
    { VEIL_SNP_MILAN, "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9" },
    { VEIL_SNP_GENOA, "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831" },
    { VEIL_SNP_TURIN, "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08" },
};

/* VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and
 * KDS Interface Specification", pub. 57230, Table 8 "VCEK Certificate Extensions"). */
#define OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define OID_BL_SPL "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID "1.3.6.1.4.1.3704.1.4"
#define OID_CSP_ID "1.3.6.1.4.1.3704.1.5"

/* The raw value bytes of the extension `oid`, or -ENOENT. */
static int ext_value(X509 *cert, const char *oid, struct veil_cursor *ret) {
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (!obj) return -ENOMEM;
    int idx = X509_get_ext_by_OBJ(cert, obj, -1);
    if (idx < 0) return -ENOENT;
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    if (!os) return -ENOENT;
    *ret = veil_cursor_make(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
    return 0;
}

/* An SPL extension: a DER INTEGER inside the extension value. */
static int ext_uint(X509 *cert, const char *oid, const char *what, const char *key_name, uint64_t *ret) {
    struct veil_cursor c, value;
    int r = ext_value(cert, oid, &c);
    if (r == -ENOENT) return veil_err(-EACCES, "%s certificate has no %s extension (%s)", key_name, what, oid);
    if (r < 0) return r;
    r = veil_der_expect(&c, VEIL_DER_INTEGER, &value);
    if (r >= 0) r = veil_der_uint(value, ret);
    if (r >= 0) r = veil_cursor_expect_eof(&c);
    if (r < 0) {
        char prefix[160];
        snprintf(prefix, sizeof(prefix), "%s certificate: %s extension (%s) is not one DER INTEGER: ", key_name, what, oid);
        return veil_hw_err_prefix(-EBADMSG, prefix);
    }
    return 0;
}

/*
 * Where the VCEK for this report lives (VCEK/KDS spec, section 4 "Get VCEK Certificate"):
 * https://kdsintf.amd.com/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..
 * (Turin: 8-byte hwid and fmcSPL). Written into `out` for refusal messages; VLEKs come from
 * the cloud provider, so there is no URL for them.
 */
static void kds_hint(const struct veil_snp_report *r, enum veil_snp_product product, char *out, size_t size) {
    if (r->signing_key != VEIL_SNP_KEY_VCEK || r->mask_chip_key) {
        snprintf(out, size, "%s", r->signing_key == VEIL_SNP_KEY_VLEK ? " (VLEKs come from the cloud provider)" : "");
        return;
    }
    if (product == VEIL_SNP_PRODUCT_UNKNOWN) product = veil_snp_report_product(r);
    struct veil_snp_tcb t = veil_snp_tcb_decode(r->reported_tcb, product == VEIL_SNP_TURIN ? product : VEIL_SNP_MILAN);
    char hwid[129], fmc[16] = "";
    veil_hex_encode(r->chip_id, product == VEIL_SNP_TURIN ? 8 : 64, hwid);
    if (product == VEIL_SNP_TURIN) snprintf(fmc, sizeof(fmc), "fmcSPL=%u&", t.fmc);
    snprintf(out, size, " (fetch it from AMD KDS: https://kdsintf.amd.com/vcek/v1/%s/%s?%sblSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u)",
             product == VEIL_SNP_PRODUCT_UNKNOWN ? "{Milan|Genoa}" : veil_snp_product_name(product), hwid, fmc, t.bootloader,
             t.tee, t.snp, t.microcode);
}

static const char *key_kind_name(uint32_t signing_key) {
    return signing_key == VEIL_SNP_KEY_VLEK ? "VLEK" : "VCEK";
}

static bool cert_has_cn(X509 *cert, const char *cn) {
    char buf[128];
    return strcmp(veil_cert_cn(cert, buf, sizeof(buf)), cn) == 0;
}

static int check_hwid(X509 *key_cert, const struct veil_snp_report *r) {
    struct veil_cursor c;
    int k = ext_value(key_cert, OID_HWID, &c);
    if (k == -ENOENT) return veil_err(-EACCES, "VCEK certificate has no hwID extension (%s)", OID_HWID);
    if (k < 0) return k;
    /* Milan/Genoa: the 64-byte CHIP_ID; Turin: its first 8 bytes. The value is raw, not DER-wrapped. */
    size_t size = veil_cursor_remaining(&c);
    const uint8_t *hwid;
    if ((size != 64 && size != 8) || veil_cursor_borrow(&c, size, &hwid) < 0)
        return veil_err(-EBADMSG, "VCEK hwID extension is %zu bytes, expected 64 (or 8 on Turin)", size);
    if (memcmp(hwid, r->chip_id, size) != 0) {
        char got[17], want[17];
        veil_hex_encode(hwid, 8, got);
        veil_hex_encode(r->chip_id, 8, want);
        return veil_err(-EACCES, "VCEK hwID extension %s… does not match the report's CHIP_ID %s… (a VCEK of another chip)",
                        got, want);
    }
    return 0;
}

static int check_tcb_extensions(X509 *key_cert, const struct veil_snp_report *r, enum veil_snp_product product) {
    const char *name = key_kind_name(r->signing_key);
    struct veil_snp_tcb tcb = veil_snp_tcb_decode(r->reported_tcb, product);
    const struct {
        const char *oid, *what;
        uint8_t want;
    } spl[] = {
        { OID_BL_SPL, "blSPL (boot loader)", tcb.bootloader },
        { OID_TEE_SPL, "teeSPL", tcb.tee },
        { OID_SNP_SPL, "snpSPL", tcb.snp },
        { OID_UCODE_SPL, "ucodeSPL (microcode)", tcb.microcode },
        { OID_FMC_SPL, "fmcSPL", tcb.fmc },
    };
    for (size_t i = 0; i < ELEMENTSOF(spl); i++) {
        if (!strcmp(spl[i].oid, OID_FMC_SPL) && product != VEIL_SNP_TURIN) continue;
        uint64_t got;
        int k = ext_uint(key_cert, spl[i].oid, spl[i].what, name, &got);
        if (k < 0) return k;
        if (got != spl[i].want) {
            char hint[320];
            kds_hint(r, product, hint, sizeof(hint));
            return veil_err(-EACCES,
                            "%s certificate's %s extension (%s) is %llu, but the report's REPORTED_TCB says %u: the "
                            "certificate is for another TCB%s",
                            name, spl[i].what, spl[i].oid, (unsigned long long)got, spl[i].want, hint);
        }
    }
    return 0;
}

/* " (trust directory: FILE)" when the ARK came from there, for messages that name the ARK's product. */
static const char *ark_note(const struct veil_snp_verified *v, char *buf, size_t size) {
    if (strcmp(v->ark_origin, "pinned") != 0) snprintf(buf, size, " (%s)", v->ark_origin);
    else buf[0] = 0;
    return buf;
}

static int check_product_name(X509 *key_cert, const char *key_name, const struct veil_snp_verified *v) {
    enum veil_snp_product product = v->product;
    char note[128];
    struct veil_cursor c, value;
    int k = ext_value(key_cert, OID_PRODUCT_NAME, &c);
    if (k == -ENOENT) return 0; /* optional in the KDS spec */
    if (k < 0) return k;
    if (veil_der_expect(&c, VEIL_DER_IA5STRING, &value) < 0)
        return veil_err(-EBADMSG, "%s productName extension is not an IA5String", key_name);
    const char *want = veil_snp_product_name(product);
    size_t want_size = strlen(want), size = veil_cursor_remaining(&value);
    const uint8_t *p;
    if (veil_cursor_borrow(&value, size, &p) < 0) return -EBADMSG;
    /* "Milan", "Milan-B0", "Genoa-B1": the product, optionally a stepping. */
    if (size < want_size || memcmp(p, want, want_size) != 0 || (size > want_size && p[want_size] != '-'))
        return veil_err(-EACCES, "%s productName extension is '%.*s', but the chain ends at the %s ARK%s", key_name,
                        (int)MIN(size, 32u), (const char *)p, want, ark_note(v, note, sizeof(note)));
    return 0;
}

/* The certificates of the kind the report names, VCEKs whose hwID matches first. */
static int find_key_cert(const struct veil_collateral *coll, const struct veil_snp_report *r, X509 **ret) {
    const char *want_cn = r->signing_key == VEIL_SNP_KEY_VLEK ? "SEV-VLEK" : "SEV-VCEK";
    const char *other_cn = r->signing_key == VEIL_SNP_KEY_VLEK ? "SEV-VCEK" : "SEV-VLEK";
    X509 *first = NULL;
    bool have_other = false;
    for (int i = 0; i < sk_X509_num(coll->certs); i++) {
        X509 *c = sk_X509_value(coll->certs, i);
        if (cert_has_cn(c, other_cn)) have_other = true;
        if (!cert_has_cn(c, want_cn)) continue;
        if (!first) first = c;
        if (r->signing_key == VEIL_SNP_KEY_VCEK && !r->mask_chip_key) {
            int k = check_hwid(c, r);
            veil_err_clear();
            if (k < 0) continue;
        }
        *ret = c;
        return 0;
    }
    if (first) {
        *ret = first; /* the checks below say what is wrong with it */
        return 0;
    }
    char hint[320];
    kds_hint(r, VEIL_SNP_PRODUCT_UNKNOWN, hint, sizeof(hint));
    return veil_err(-EACCES, "report is signed by the %s (SIGNING_KEY=%u) but the collateral has no %s certificate%s%s",
                    key_kind_name(r->signing_key), r->signing_key, want_cn,
                    have_other ? (r->signing_key == VEIL_SNP_KEY_VLEK ? " (only a VCEK, which cannot verify a VLEK-signed report)"
                                                                        : " (only a VLEK, which cannot verify a VCEK-signed report)")
                               : "",
                    hint);
}

/*
 * The product whose trusted ARK this is: one of the pinned ARKs, else one the caller's
 * trust directory names (extra_amd_roots). Writes where it came from into `origin`.
 */
static int trusted_product(X509 *ark, const struct veil_hw_options *opts, enum veil_snp_product *ret, char *origin,
                           size_t origin_size) {
    uint8_t digest[32], extra[32];
    char hex[65], cn[128], names[256] = "";
    int r = veil_cert_spki_sha256(ark, digest);
    if (r < 0) return r;
    veil_hex_encode(digest, 32, hex);
    for (size_t i = 0; i < ELEMENTSOF(pinned_arks); i++)
        if (!strcmp(hex, pinned_arks[i].spki_sha256)) {
            *ret = pinned_arks[i].product;
            snprintf(origin, origin_size, "pinned");
            return 0;
        }
    size_t count = opts ? opts->extra_amd_roots_count : 0;
    for (size_t i = 0; i < count; i++) {
        const struct veil_amd_root *root = &opts->extra_amd_roots[i];
        r = veil_cert_spki_sha256(root->ark, extra);
        if (r < 0) return r;
        if (!memcmp(digest, extra, 32)) {
            *ret = root->product;
            snprintf(origin, origin_size, "trust directory: %s", root->origin);
            return 0;
        }
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", root->origin);
    }
    if (count)
        return veil_err(-EACCES, "root '%s' is not a pinned AMD ARK, nor the ARK of a trust directory file (%s) (public key "
                        "SHA-256 %s)", veil_cert_cn(ark, cn, sizeof(cn)), names, hex);
    return veil_err(-EACCES, "root '%s' is not a pinned AMD ARK (public key SHA-256 %s)", veil_cert_cn(ark, cn, sizeof(cn)),
                    hex);
}

static int verify_chain(const struct veil_collateral *coll, X509 *key_cert, const struct veil_snp_report *r,
                        const struct veil_hw_options *opts, time_t now, struct veil_snp_verified *v) {
    const char *key_name = key_kind_name(r->signing_key);
    const char *ask_name = r->signing_key == VEIL_SNP_KEY_VLEK ? "ASVK" : "ASK";
    char issuer[128] = "?", have[512] = "";
    X509 *ask = veil_cert_find_issuer(coll->certs, key_cert, now);
    if (!ask) {
        X509_NAME_get_text_by_NID(X509_get_issuer_name(key_cert), NID_commonName, issuer, sizeof(issuer));
        for (int i = 0; i < sk_X509_num(coll->certs); i++) {
            char cn[128];
            veil_cert_cn(sk_X509_value(coll->certs, i), cn, sizeof(cn));
            if (strncmp(cn, "SEV-", 4) || !strcmp(cn, "SEV-VCEK") || !strcmp(cn, "SEV-VLEK")) continue;
            size_t used = strlen(have);
            snprintf(have + used, sizeof(have) - used, "%s%s", used ? ", " : "", cn);
        }
        return veil_err(-EACCES, "%s certificate is issued by '%s', but no supplied %s ('%s') verifies it (have: %s)",
                        key_name, issuer, ask_name, issuer, have[0] ? have : "none");
    }
    int k = veil_cert_check_issued(key_cert, ask, now, key_name, ask_name);
    if (k < 0) return k;
    X509 *ark = veil_cert_find_issuer(coll->certs, ask, now);
    if (!ark) {
        X509_NAME_get_text_by_NID(X509_get_issuer_name(ask), NID_commonName, issuer, sizeof(issuer));
        return veil_err(-EACCES, "%s certificate is issued by '%s', but no supplied ARK verifies it", ask_name, issuer);
    }
    k = veil_cert_check_issued(ask, ark, now, ask_name, "ARK");
    if (k < 0) return k;
    k = veil_cert_check_issued(ark, ark, now, "ARK", "ARK (self-signed)");
    if (k < 0) return k;
    X509_CRL *crl = veil_crl_find(coll->crls, ark, now);
    if (crl) {
        k = veil_crl_check(crl, ark, ask, now, ask_name);
        if (k < 0) return k;
    }
    v->ark_crl_checked = crl != NULL;
    return trusted_product(ark, opts, &v->product, v->ark_origin, sizeof(v->ark_origin));
}

/* Every check that involves one candidate key certificate; fills v->product. */
static int verify_with_key(const uint8_t *report, const struct veil_collateral *coll, X509 *key_cert,
                           const struct veil_hw_options *opts, time_t now, struct veil_snp_verified *v) {
    const struct veil_snp_report *r = &v->report;
    const char *key_name = key_kind_name(r->signing_key);
    int k;
    if (r->signing_key == VEIL_SNP_KEY_VCEK && !r->mask_chip_key) {
        k = check_hwid(key_cert, r);
        if (k < 0) return k;
    }
    /* The chain first: it names the product, which fixes the TCB_VERSION layout. */
    k = verify_chain(coll, key_cert, r, opts, now, v);
    if (k < 0) return k;
    enum veil_snp_product cpu = veil_snp_report_product(r);
    char note[128];
    if (cpu != VEIL_SNP_PRODUCT_UNKNOWN && cpu != v->product)
        return veil_err(-EACCES, "report CPUID (family %02xh model %02xh) is a %s, but the chain ends at the %s ARK%s",
                        r->cpuid_fam_id, r->cpuid_mod_id, veil_snp_product_name(cpu), veil_snp_product_name(v->product),
                        ark_note(v, note, sizeof(note)));
    k = check_product_name(key_cert, key_name, v);
    if (k < 0) return k;
    k = check_tcb_extensions(key_cert, r, v->product);
    if (k < 0) return k;
    EVP_PKEY *key = X509_get0_pubkey(key_cert);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 384)
        return veil_err(-EACCES, "%s certificate key is not ECDSA P-384", key_name);
    k = veil_ecdsa_verify_raw(key, VEIL_HASH_SHA384, report, VEIL_SNP_SIGNED_SIZE, r->sig_r, r->sig_s,
                              VEIL_SNP_SIG_COORD_SIZE);
    if (k < 0)
        return veil_err(-EACCES, "SNP report signature (ECDSA P-384 over bytes 0x000..0x2A0) does not verify under the %s key",
                        key_name);
    return 0;
}

int veil_snp_verify_report(const uint8_t *report, size_t size, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_snp_verified *ret) {
    struct veil_snp_verified v = { 0 };
    time_t now = opts && opts->now ? opts->now : time(NULL);
    int k = veil_snp_report_parse(report, size, &v.report);
    if (k < 0) return k;
    const struct veil_snp_report *r = &v.report;
    if (r->signing_key != VEIL_SNP_KEY_VCEK && r->signing_key != VEIL_SNP_KEY_VLEK)
        return veil_err(-EACCES, "SNP report: SIGNING_KEY is %u: the report is not signed by a VCEK (0) or VLEK (1)",
                        r->signing_key);
    X509 *preferred = NULL;
    k = find_key_cert(coll, r, &preferred);
    if (k < 0) return k;
    /* A collateral directory may hold several VCEKs of one chip (one per TCB): the
     * preferred one first, then every other of the right kind; the first error is the
     * one reported, since it concerns the best candidate. */
    const char *want_cn = r->signing_key == VEIL_SNP_KEY_VLEK ? "SEV-VLEK" : "SEV-VCEK";
    char first_error[512] = "";
    int first = 0;
    for (int i = -1; i < sk_X509_num(coll->certs); i++) {
        X509 *candidate = i < 0 ? preferred : sk_X509_value(coll->certs, i);
        if (i >= 0 && (candidate == preferred || !cert_has_cn(candidate, want_cn))) continue;
        v.product = VEIL_SNP_PRODUCT_UNKNOWN;
        k = verify_with_key(report, coll, candidate, opts, now, &v);
        if (k >= 0) {
            *ret = v;
            return 0;
        }
        if (!first) {
            first = k;
            snprintf(first_error, sizeof(first_error), "%s", veil_err_msg());
        }
    }
    return veil_err(first, "%s", first_error);
}

static json_t *tcb_json(uint64_t tcb, enum veil_snp_product product) {
    struct veil_snp_tcb t = veil_snp_tcb_decode(tcb, product);
    char raw[17];
    snprintf(raw, sizeof(raw), "%016llx", (unsigned long long)tcb);
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i}", "raw", raw, "bootloader", t.bootloader, "tee", t.tee, "snp",
                          t.snp, "microcode", t.microcode);
    if (o && product == VEIL_SNP_TURIN) json_object_set_new(o, "fmc", json_integer(t.fmc));
    return o;
}

static bool nonzero(const uint8_t *p, size_t size) {
    for (size_t i = 0; i < size; i++)
        if (p[i]) return true;
    return false;
}

int veil_snp_claims(const struct veil_snp_verified *v, struct veil_claims **ret) {
    const struct veil_snp_report *r = &v->report;
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    int k = veil_claims_new(VEIL_TEE_SNP, &c);
    if (k < 0) return k;
    memcpy(c->measurement, r->measurement, 48);
    c->measurement_size = 48;
    if (r->author_key_en && nonzero(r->author_key_digest, 48)) {
        memcpy(c->signer, r->author_key_digest, 48);
        c->signer_size = 48;
    } else if (nonzero(r->id_key_digest, 48)) {
        memcpy(c->signer, r->id_key_digest, 48);
        c->signer_size = 48;
    }
    c->security_version = r->guest_svn;
    c->debug = r->policy & VEIL_SNP_POLICY_DEBUG;
    /* AMD publishes no TCB status for SNP. Mapped onto Intel's scale: the key's TCB
     * extensions equal REPORTED_TCB and the chain verified (else the report was refused),
     * which is what UpToDate means here; freshness against a minimum TCB is the policy's
     * job, on details.reported_tcb. */
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    memcpy(c->report_data, r->report_data, 64);
    char policy[19], platform[19], fw[16];
    snprintf(policy, sizeof(policy), "0x%016llx", (unsigned long long)r->policy);
    snprintf(platform, sizeof(platform), "0x%016llx", (unsigned long long)r->platform_info);
    snprintf(fw, sizeof(fw), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
    json_t *d = c->details;
    json_object_set_new(d, "version", json_integer(r->version));
    json_object_set_new(d, "product", json_string(veil_snp_product_name(v->product)));
    json_object_set_new(d, "signing_key", json_string(r->signing_key == VEIL_SNP_KEY_VLEK ? "vlek" : "vcek"));
    json_object_set_new(d, "guest_svn", json_integer(r->guest_svn));
    json_object_set_new(d, "policy", json_string(policy));
    json_object_set_new(d, "policy_abi", json_pack("{s:i, s:i}", "major", (int)(r->policy >> 8 & 0xff), "minor",
                                                   (int)(r->policy & 0xff)));
    json_object_set_new(d, "policy_smt", json_boolean(r->policy & VEIL_SNP_POLICY_SMT));
    json_object_set_new(d, "policy_migrate_ma", json_boolean(r->policy & VEIL_SNP_POLICY_MIGRATE_MA));
    json_object_set_new(d, "policy_debug", json_boolean(r->policy & VEIL_SNP_POLICY_DEBUG));
    json_object_set_new(d, "policy_single_socket", json_boolean(r->policy & VEIL_SNP_POLICY_SINGLE_SOCKET));
    json_object_set_new(d, "vmpl", json_integer(r->vmpl));
    json_object_set_new(d, "family_id", veil_claims_hex_json(r->family_id, 16));
    json_object_set_new(d, "image_id", veil_claims_hex_json(r->image_id, 16));
    json_object_set_new(d, "host_data", veil_claims_hex_json(r->host_data, 32));
    json_object_set_new(d, "id_key_digest", veil_claims_hex_json(r->id_key_digest, 48));
    json_object_set_new(d, "author_key_digest", veil_claims_hex_json(r->author_key_digest, 48));
    json_object_set_new(d, "report_id", veil_claims_hex_json(r->report_id, 32));
    json_object_set_new(d, "report_id_ma", veil_claims_hex_json(r->report_id_ma, 32));
    json_object_set_new(d, "chip_id", veil_claims_hex_json(r->chip_id, 64));
    json_object_set_new(d, "platform_info", json_string(platform));
    json_object_set_new(d, "current_tcb", tcb_json(r->current_tcb, v->product));
    json_object_set_new(d, "reported_tcb", tcb_json(r->reported_tcb, v->product));
    json_object_set_new(d, "committed_tcb", tcb_json(r->committed_tcb, v->product));
    json_object_set_new(d, "launch_tcb", tcb_json(r->launch_tcb, v->product));
    json_object_set_new(d, "firmware", json_string(fw));
    json_object_set_new(d, "ark", json_string(v->ark_origin));
    json_object_set_new(d, "ark_crl", json_string(v->ark_crl_checked ? "checked" : "not supplied"));
    if (r->version >= 3)
        json_object_set_new(d, "cpuid", json_pack("{s:i, s:i, s:i}", "family", r->cpuid_fam_id, "model",
                                                  r->cpuid_mod_id, "stepping", r->cpuid_step));
    if (r->version >= 5) {
        json_object_set_new(d, "launch_mit_vector", json_integer((json_int_t)r->launch_mit_vector));
        json_object_set_new(d, "current_mit_vector", json_integer((json_int_t)r->current_mit_vector));
    }
    *ret = TAKE_PTR(c);
    return 0;
}

int veil_snp_verify(const uint8_t *report, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) {
    struct veil_snp_verified v;
    int k = veil_snp_verify_report(report, size, coll, opts, &v);
    if (k < 0) return k;
    if ((v.report.policy & VEIL_SNP_POLICY_DEBUG) && !(opts && opts->allow_debug))
        return veil_err(-EPERM, "SNP report: guest POLICY.DEBUG (bit 19) is set and debug guests are not allowed");
    k = veil_hw_check_report_data(opts, v.report.report_data, "SNP report");
    if (k < 0) return k;
    return veil_snp_claims(&v, ret);
}
