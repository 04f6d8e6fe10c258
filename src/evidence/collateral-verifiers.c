/* SPDX-License-Identifier: Apache-2.0 */
/* Connects the SNP, TDX, SGX and Azure verifiers to the evidence envelope, its options and raw files. */
#include "collateral-verifiers.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure.h"
#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "collateral-x509.h"
#include "collateral.h"
#include "dcap-quote.h"
#include "sgx.h"
#include "snp-certtable.h"
#include "snp-report.h"
#include "snp.h"
#include "tdx.h"

/* Concatenated DER certificates, leaf first. */
static int add_der_sequence(struct veil_collateral *coll, const uint8_t *data, size_t size) {
    struct veil_cursor c = veil_cursor_make(data, size);
    while (!veil_cursor_eof(&c)) {
        const unsigned char *p = c.data + c.pos;
        X509 *cert = d2i_X509(NULL, &p, (long)veil_cursor_remaining(&c));
        if (!cert) return veil_err(-EBADMSG, "evidence CERTS: certificate at offset %zu does not parse", c.pos);
        size_t used = (size_t)(p - (c.data + c.pos));
        if (!sk_X509_push(coll->certs, cert)) {
            X509_free(cert);
            return -ENOMEM;
        }
        int r = veil_cursor_skip(&c, used);
        if (r < 0) return r;
    }
    return 0;
}

struct gathered {
    struct veil_collateral *coll;
    X509 *roots[8];
    size_t roots_count;
    struct veil_amd_root amd_roots[8]; /* each holds a reference to its ARK */
    size_t amd_roots_count;
    struct veil_hw_options hw;
};

static void gathered_done(struct gathered *g) {
    for (size_t i = 0; i < g->amd_roots_count; i++) X509_free(g->amd_roots[i].ark);
    veil_collateral_free(g->coll);
}

/* The product a trust-directory file name vouches for: ask_ark_<product>.pem, in any case. */
static enum veil_snp_product amd_root_file_product(const char *name) {
    static const struct {
        const char *name;
        enum veil_snp_product product;
    } files[] = {
        { "ask_ark_milan.pem", VEIL_SNP_MILAN },
        { "ask_ark_genoa.pem", VEIL_SNP_GENOA },
        { "ask_ark_turin.pem", VEIL_SNP_TURIN },
    };
    for (size_t i = 0; i < ELEMENTSOF(files); i++)
        if (!strcasecmp(name, files[i].name)) return files[i].product;
    return VEIL_SNP_PRODUCT_UNKNOWN;
}

/*
 * One ask_ark_<product>.pem of the trust directory: its one self-signed certificate is
 * trusted as that product's ARK. The product comes from the file name the operator chose,
 * never from the certificate's own text, which whoever made the certificate wrote.
 */
static int add_amd_root_file(struct gathered *g, const char *dir, const char *name) {
    enum veil_snp_product product = amd_root_file_product(name);
    if (product == VEIL_SNP_PRODUCT_UNKNOWN) return 0;
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return veil_err(-ENAMETOOLONG, "trust directory path '%s' is too long", dir);
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(path, VEIL_CERTS_MAX_SIZE, &data, &size);
    if (r < 0) return veil_err(r, "cannot read AMD root file '%s'", path);
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *certs = sk_X509_new_null();
    if (!certs) return -ENOMEM;
    r = veil_certs_parse(data, size, certs);
    if (r < 0) return veil_err(r, "AMD root file '%s' does not hold PEM certificates", path);
    X509 *ark = NULL;
    int self_signed = 0;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0) ark = c, self_signed++;
    }
    if (self_signed != 1)
        return veil_err(-EBADMSG, "AMD root file '%s' holds %d self-signed certificates, expected exactly one (the %s ARK)",
                        path, self_signed, veil_snp_product_name(product));
    if (g->amd_roots_count == ELEMENTSOF(g->amd_roots))
        return veil_err(-E2BIG, "trust directory '%s' holds more than %zu AMD root files", dir, ELEMENTSOF(g->amd_roots));
    if (!X509_up_ref(ark)) return -ENOMEM;
    struct veil_amd_root *root = &g->amd_roots[g->amd_roots_count++];
    root->ark = ark;
    root->product = product;
    snprintf(root->origin, sizeof(root->origin), "%s", name);
    return 0;
}

static int add_amd_roots(struct gathered *g, const char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) return veil_err(-errno, "cannot list trust directory '%s'", dir);
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (r == 0) r = add_amd_root_file(g, dir, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return r;
}

static const char *const any_advisory[] = { "*", NULL };

static int gather(const struct veil_evidence *ev, const struct veil_verify_options *opts, struct gathered *g) {
    memset(g, 0, sizeof(*g));
    int r = veil_collateral_new(&g->coll);
    if (r < 0) return r;
    if (opts && opts->trust_dir) {
        int before = sk_X509_num(g->coll->certs);
        r = veil_collateral_load_dir(g->coll, opts->trust_dir);
        if (r < 0) return r;
        /* self-signed certificates of the trust directory are trusted Intel roots; an AMD ARK
         * only from a file that names its product (docs/hardware-evidence.md) */
        for (int i = before; i < sk_X509_num(g->coll->certs) && g->roots_count < ELEMENTSOF(g->roots); i++) {
            X509 *c = sk_X509_value(g->coll->certs, i);
            if (X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0) g->roots[g->roots_count++] = c;
        }
        r = add_amd_roots(g, opts->trust_dir);
        if (r < 0) return r;
    }
    if (opts && opts->collateral_dir) {
        r = veil_collateral_load_dir(g->coll, opts->collateral_dir);
        if (r < 0) return r;
    }
    if (ev->item_size[VEIL_EVIDENCE_CERTS]) {
        r = add_der_sequence(g->coll, ev->item[VEIL_EVIDENCE_CERTS], ev->item_size[VEIL_EVIDENCE_CERTS]);
        if (r < 0) return r;
    }
    if (ev->item_size[VEIL_EVIDENCE_AUXBLOB] && ev->tee == VEIL_TEE_SNP) {
        r = veil_snp_certtable_add(ev->item[VEIL_EVIDENCE_AUXBLOB], ev->item_size[VEIL_EVIDENCE_AUXBLOB], g->coll);
        if (r < 0) return r;
    }
    if (ev->item_size[VEIL_EVIDENCE_COLLATERAL]) {
        r = veil_collateral_add(g->coll, ev->item[VEIL_EVIDENCE_COLLATERAL], ev->item_size[VEIL_EVIDENCE_COLLATERAL],
                                "evidence collateral");
        if (r < 0) return r;
    }
    g->hw = (struct veil_hw_options){
        .now = opts ? opts->now : 0,
        .accepted_tcb = ~0u, /* judged by the policy */
        .allowed_advisories = any_advisory,
        .allow_debug = true, /* judged by the policy */
        .extra_intel_roots = g->roots,
        .extra_intel_roots_count = g->roots_count,
        .extra_amd_roots = g->amd_roots,
        .extra_amd_roots_count = g->amd_roots_count,
    };
    return 0;
}

int veil_snp_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) {
    struct gathered g;
    int r = gather(ev, opts, &g);
    if (r >= 0) r = veil_snp_verify(ev->item[VEIL_EVIDENCE_REPORT], ev->item_size[VEIL_EVIDENCE_REPORT], g.coll, &g.hw, ret_claims);
    gathered_done(&g);
    return r;
}

int veil_tdx_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) {
    struct gathered g;
    int r = gather(ev, opts, &g);
    if (r >= 0) r = veil_tdx_verify(ev->item[VEIL_EVIDENCE_REPORT], ev->item_size[VEIL_EVIDENCE_REPORT], g.coll, &g.hw, ret_claims);
    gathered_done(&g);
    return r;
}

int veil_sgx_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) {
    struct gathered g;
    int r = gather(ev, opts, &g);
    if (r >= 0) r = veil_sgx_verify(ev->item[VEIL_EVIDENCE_REPORT], ev->item_size[VEIL_EVIDENCE_REPORT], g.coll, &g.hw, ret_claims);
    gathered_done(&g);
    return r;
}

int veil_azure_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                               struct veil_claims **ret_claims) {
    struct gathered g;
    int r = gather(ev, opts, &g);
    if (r >= 0) {
        if (ev->item_size[VEIL_EVIDENCE_RUNTIME_DATA])
            r = veil_azure_verify_json(ev->item[VEIL_EVIDENCE_RUNTIME_DATA], ev->item_size[VEIL_EVIDENCE_RUNTIME_DATA],
                                       g.coll, &g.hw, ret_claims);
        else {
            struct veil_azure_evidence az = {
                .hcl_report = ev->item[VEIL_EVIDENCE_REPORT],
                .hcl_report_size = ev->item_size[VEIL_EVIDENCE_REPORT],
                .tpm_quote = ev->item[VEIL_EVIDENCE_TPM_QUOTE],
                .tpm_quote_size = ev->item_size[VEIL_EVIDENCE_TPM_QUOTE],
                .tpm_signature = ev->item[VEIL_EVIDENCE_TPM_SIGNATURE],
                .tpm_signature_size = ev->item_size[VEIL_EVIDENCE_TPM_SIGNATURE],
            };
            if (!az.tpm_quote_size) az.tpm_quote = NULL;
            r = veil_azure_verify(&az, g.coll, &g.hw, ret_claims);
        }
    }
    gathered_done(&g);
    return r;
}

int veil_hw_detect(const uint8_t *data, size_t size, enum veil_tee *ret) {
    if (!data || size == 0) return veil_err(-EBADMSG, "empty evidence");
    struct veil_cursor c = veil_cursor_make(data, size);
    uint32_t u32;
    uint16_t version, key_type;
    if (size >= 4 && !memcmp(data, "HCLA", 4)) {
        *ret = VEIL_TEE_AZURE_SNP_VTPM;
        return 0;
    }
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
    if (i < size && data[i] == '{' && memmem(data, size, "\"hcl_report\"", 12) && memmem(data, size, "\"tpm_quote\"", 11)) {
        *ret = VEIL_TEE_AZURE_SNP_VTPM;
        return 0;
    }
    if (size == VEIL_SNP_REPORT_SIZE && veil_cursor_u32le(&c, &u32) == 0 && (u32 == 2 || u32 == 3 || u32 == 5)) {
        *ret = VEIL_TEE_SNP;
        return 0;
    }
    c = veil_cursor_make(data, size);
    if (size > VEIL_DCAP_HEADER_SIZE && veil_cursor_u16le(&c, &version) == 0 && veil_cursor_u16le(&c, &key_type) == 0 &&
        veil_cursor_u32le(&c, &u32) == 0 && key_type == 2 && version >= 3 && version <= 5) {
        if (u32 == VEIL_DCAP_TEE_TDX && version >= 4) {
            *ret = VEIL_TEE_TDX;
            return 0;
        }
        if (u32 == VEIL_DCAP_TEE_SGX) {
            *ret = VEIL_TEE_SGX;
            return 0;
        }
    }
    return veil_err(-EBADMSG, "not veil evidence, and not raw hardware evidence either (an SNP report, a DCAP quote, an "
                              "Azure HCL report or vTPM evidence JSON)");
}

int veil_hw_verify_raw(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                       struct veil_claims **ret_claims) {
    enum veil_tee tee;
    int r = veil_hw_detect(data, size, &tee);
    if (r < 0) return r;
    struct veil_evidence ev = { .tee = tee };
    bool json = tee == VEIL_TEE_AZURE_SNP_VTPM && memcmp(data, "HCLA", 4) != 0;
    ev.item[json ? VEIL_EVIDENCE_RUNTIME_DATA : VEIL_EVIDENCE_REPORT] = data;
    ev.item_size[json ? VEIL_EVIDENCE_RUNTIME_DATA : VEIL_EVIDENCE_REPORT] = size;
    switch (tee) {
    case VEIL_TEE_SNP: return veil_snp_verify_evidence(&ev, opts, ret_claims);
    case VEIL_TEE_TDX: return veil_tdx_verify_evidence(&ev, opts, ret_claims);
    case VEIL_TEE_SGX: return veil_sgx_verify_evidence(&ev, opts, ret_claims);
    default: return veil_azure_verify_evidence(&ev, opts, ret_claims);
    }
}
