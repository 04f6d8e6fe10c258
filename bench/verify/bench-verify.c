/* SPDX-License-Identifier: Apache-2.0 */
/* Verifications per second of each hardware evidence format, beside the bare signature check of the evidence itself. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "evidence/azure.h"
#include "evidence/collateral-x509.h"
#include "evidence/dcap-quote.h"
#include "evidence/sgx.h"
#include "evidence/snp.h"
#include "evidence/tdx.h"
#include "../rate.h"

static double seconds_per_case = 1.0;

typedef int (*op_fn)(void *arg);

/* Operations per second of op, run for seconds_per_case. */
static double rate(op_fn op, void *arg) {
    return bench_rate("bench-verify", seconds_per_case, op, arg);
}

static uint8_t *load(const char *name, size_t *size) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", getenv("VEIL_VECTORS"), name);
    uint8_t *data;
    if (veil_read_file(path, 1 << 20, &data, size) < 0) {
        fprintf(stderr, "bench-verify: cannot read %s (set VEIL_VECTORS)\n", path);
        exit(1);
    }
    return data;
}

static struct veil_collateral *collateral(const char *name) {
    char path[4096];
    struct veil_collateral *c;
    snprintf(path, sizeof(path), "%s/%s", getenv("VEIL_VECTORS"), name);
    if (veil_collateral_new(&c) < 0 || veil_collateral_load_file(c, path) < 0) {
        fprintf(stderr, "bench-verify: %s\n", veil_err_msg());
        exit(1);
    }
    return c;
}

struct job {
    const uint8_t *data;
    size_t size;
    struct veil_collateral *coll;
    struct veil_hw_options opts;
    int (*verify)(const uint8_t *, size_t, const struct veil_collateral *, const struct veil_hw_options *,
                  struct veil_claims **);
    /* the bare signature check */
    EVP_PKEY *key;
    enum veil_hash_alg alg;
    const uint8_t *signed_data;
    size_t signed_size;
    uint8_t r[72], s[72];
    size_t coord;
};

static int op_verify(void *arg) {
    struct job *j = arg;
    struct veil_claims *c = NULL;
    int r = j->verify(j->data, j->size, j->coll, &j->opts, &c);
    veil_claims_free(c);
    return r;
}

static int op_raw(void *arg) {
    struct job *j = arg;
    return veil_ecdsa_verify_raw(j->key, j->alg, j->signed_data, j->signed_size, j->r, j->s, j->coord);
}

static void report(const char *what, struct job *j) {
    double raw = rate(op_raw, j), veil = rate(op_verify, j);
    printf("%-30s raw signature check %9.0f/s   veil full verification %8.0f/s   ratio %.3f\n", what, raw, veil, veil / raw);
}

static time_t at(const char *t) {
    time_t v;
    if (veil_time_parse(t, &v) < 0) exit(1);
    return v;
}

static void bench_snp(void) {
    struct job j = { 0 };
    j.data = load("snp/milan-v2-report.bin", &j.size);
    j.coll = collateral("snp/milan-v2-vcek.der");
    if (veil_collateral_load_file(j.coll, strcat(strcat((char[4096]){ 0 }, getenv("VEIL_VECTORS")), "/snp/milan-ask-ark.testcer")) < 0)
        exit(1);
    j.opts = (struct veil_hw_options){ .now = at("2025-06-01T00:00:00Z"), .allow_debug = true };
    j.verify = veil_snp_verify;
    struct veil_snp_report r;
    if (veil_snp_report_parse(j.data, j.size, &r) < 0) exit(1);
    j.key = X509_get0_pubkey(sk_X509_value(j.coll->certs, 0));
    j.alg = VEIL_HASH_SHA384;
    j.signed_data = j.data;
    j.signed_size = VEIL_SNP_SIGNED_SIZE;
    memcpy(j.r, r.sig_r, 72);
    memcpy(j.s, r.sig_s, 72);
    j.coord = 72;
    report("SNP report (Milan, VCEK)", &j);
}

static void bench_dcap(const char *what, const char *quote, const char *coll, const char *time, bool tdx) {
    struct job j = { 0 };
    static const char *const any[] = { "*", NULL };
    j.data = load(quote, &j.size);
    j.coll = collateral(coll);
    j.opts = (struct veil_hw_options){ .now = at(time), .accepted_tcb = ~0u, .allowed_advisories = any };
    j.verify = tdx ? veil_tdx_verify : veil_sgx_verify;
    struct veil_dcap_quote q;
    if (veil_dcap_quote_parse(j.data, j.size, &q) < 0 || veil_ec_key_from_xy(VEIL_KEY_ECDSA_P256, q.att_key, 64, &j.key) < 0)
        exit(1);
    j.alg = VEIL_HASH_SHA256;
    j.signed_data = q.signed_data;
    j.signed_size = q.signed_size;
    memcpy(j.r, q.signature, 32);
    memcpy(j.s, q.signature + 32, 32);
    j.coord = 32;
    report(what, &j);
}

struct azure_job {
    struct job base;
    uint8_t *json;
    size_t json_size;
};

static int op_azure(void *arg) {
    struct azure_job *a = arg;
    struct veil_claims *c = NULL;
    int r = veil_azure_verify_json(a->json, a->json_size, a->base.coll, &a->base.opts, &c);
    veil_claims_free(c);
    return r;
}

static void bench_azure(void) {
    struct azure_job a = { 0 };
    a.json = load("az-snp-vtpm/evidence-v2.json", &a.json_size);
    a.base.coll = collateral("snp/ask_ark_milan.pem");
    a.base.opts = (struct veil_hw_options){ .now = at("2025-06-01T00:00:00Z") };
    /* the bare check: the SNP report signature inside the HCL report, as for SNP */
    struct veil_claims *c = NULL;
    if (veil_azure_verify_json(a.json, a.json_size, a.base.coll, &a.base.opts, &c) < 0) {
        fprintf(stderr, "bench-verify: %s\n", veil_err_msg());
        exit(1);
    }
    veil_claims_free(c);
    double veil = rate(op_azure, &a);
    printf("%-30s veil full verification %8.0f/s (HCL JSON decode, SNP chain, runtime claims, RSA AK quote, 24 PCRs)\n",
           "Azure vTPM evidence JSON", veil);
}

int main(int argc, char **argv) {
    if (argc > 1) seconds_per_case = atof(argv[1]);
    if (!getenv("VEIL_VECTORS")) {
        fprintf(stderr, "bench-verify: set VEIL_VECTORS\n");
        return 1;
    }
    bench_snp();
    bench_dcap("TDX quote v4 (Phala)", "tdx/phala_tdx_quote.dat", "tdx/phala_tdx_quote_collateral.json",
               "2025-06-20T00:00:00Z", true);
    bench_dcap("SGX quote v3 (Phala)", "sgx/phala_sgx_quote.dat", "sgx/phala_sgx_quote_collateral.json",
               "2025-06-20T00:00:00Z", false);
    bench_azure();
    return 0;
}
