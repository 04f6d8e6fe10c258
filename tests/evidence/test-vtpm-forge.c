/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: an Azure-shaped HCL report naming a software TPM's AK, signed by an AMD-shaped hierarchy of our own. */
/*
 * usage: test-vtpm-forge AK.pem REPORT_DATA_HEX OUTDIR
 * writes OUTDIR/hcl.bin, OUTDIR/trust/ask_ark_milan.pem (ASK, ARK), OUTDIR/collateral/vcek.pem,
 * OUTDIR/chain.pem (VCEK, ASK, ARK).
 *
 * The real HCL report in $VEIL_VECTORS cannot be used with swtpm: it is 2600 bytes and
 * swtpm's NV indices hold at most 2048, and the AK its runtime claims name lives in a
 * real Azure vTPM. So this keeps the real report's every field but two — REPORT_DATA
 * becomes SHA-256 of new runtime claims naming the test's AK, and the signature is by a
 * VCEK of our own carrying the real VCEK's extensions (hwID, TCB) — and issues that VCEK
 * from an ASK/ARK of our own. Only a verifier told to trust that ARK accepts it.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/key.h"

#define HW_OFFSET 0x20
#define HW_SIZE 1184
#define REQUEST_OFFSET 0x4c0
#define SNP_REPORT_DATA 0x50
#define SNP_SIGNED_SIZE 0x2a0

static void die(const char *what) {
    fprintf(stderr, "test-vtpm-forge: %s\n", what);
    exit(1);
}

static void check(int ok, const char *what) {
    if (!ok) die(what);
}

static char *base64url(const uint8_t *data, size_t size) {
    char *out = malloc(4 * ((size + 2) / 3) + 1);
    check(out != NULL, "out of memory");
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)size);
    for (int i = 0; i < n; i++) out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (n > 0 && out[n - 1] == '=') n--;
    out[n] = 0;
    return out;
}

static char *bn_base64url(EVP_PKEY *key, const char *param) {
    BIGNUM *bn = NULL;
    check(EVP_PKEY_get_bn_param(key, param, &bn) == 1, "AK is not an RSA key");
    int size = BN_num_bytes(bn);
    uint8_t *bytes = malloc((size_t)size);
    check(bytes != NULL, "out of memory");
    BN_bn2bin(bn, bytes);
    char *text = base64url(bytes, (size_t)size);
    free(bytes);
    BN_free(bn);
    return text;
}

static X509 *amd_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ca, X509 *copy_exts_from) {
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    check(x && name, "out of memory");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL) & 0xffffff);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20400101000000Z");
    X509_set_pubkey(x, key);
    if (ca) {
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, bc, -1);
        X509_EXTENSION_free(bc);
    }
    for (int i = 0; copy_exts_from && i < X509_get_ext_count(copy_exts_from); i++)
        X509_add_ext(x, X509_get_ext(copy_exts_from, i), -1);
    check(X509_sign(x, issuer_key, EVP_sha384()) > 0, "cannot sign a certificate");
    return x;
}

/* As the firmware signs: ECDSA P-384 over [0, 0x2A0), R and S little-endian in 72 bytes each (SEV-SNP ABI, table 139). */
static void sign_report(uint8_t *report, EVP_PKEY *key) {
    uint8_t *der;
    size_t der_size;
    check(veil_sign(key, report, SNP_SIGNED_SIZE, &der, &der_size) == 0, "cannot sign the report");
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_size);
    check(sig != NULL, "bad ECDSA signature");
    uint8_t be[72];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), be, 72);
    for (int i = 0; i < 72; i++) report[0x2a0 + i] = be[71 - i];
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), be, 72);
    for (int i = 0; i < 72; i++) report[0x2e8 + i] = be[71 - i];
    ECDSA_SIG_free(sig);
    free(der);
}

static void write_pem(const char *path, X509 *const *certs, size_t count) {
    FILE *f = fopen(path, "w");
    check(f != NULL, path);
    for (size_t i = 0; i < count; i++) check(PEM_write_X509(f, certs[i]) == 1, path);
    check(fclose(f) == 0, path);
}

static void put_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: test-vtpm-forge AK.pem REPORT_DATA_HEX OUTDIR");
    const char *vectors = getenv("VEIL_VECTORS");
    if (!vectors) die("VEIL_VECTORS is not set");
    char path[4096];

    EVP_PKEY *ak = NULL;
    check(veil_key_load_public_pem(argv[1], &ak) == 0, "cannot load the AK public key");
    char *n = bn_base64url(ak, OSSL_PKEY_PARAM_RSA_N), *e = bn_base64url(ak, OSSL_PKEY_PARAM_RSA_E);
    if (strlen(argv[2]) != 128) die("REPORT_DATA_HEX must be 64 bytes of hex");
    struct veil_buf claims = { 0 };
    check(veil_buf_printf(&claims,
                          "{\"keys\":[{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\",\"e\":\"%s\",\"n\":\"%s\"}],"
                          "\"vm-configuration\":{\"console-enabled\":false,\"secure-boot\":true,\"tpm-enabled\":true,"
                          "\"vmUniqueId\":\"00000000-0000-0000-0000-5357544d0000\"},\"user-data\":\"%s\"}",
                          e, n, argv[2]) == 0,
          "cannot format the runtime claims");

    uint8_t *real;
    size_t real_size;
    snprintf(path, sizeof(path), "%s/az-snp-vtpm/hcl-report.bin", vectors);
    check(veil_read_file(path, 1 << 20, &real, &real_size) == 0 && real_size > REQUEST_OFFSET + 20, path);

    /* header and hardware report from the real one; request data and runtime claims ours */
    size_t size = REQUEST_OFFSET + 20 + claims.size;
    uint8_t *hcl = calloc(1, size);
    check(hcl != NULL, "out of memory");
    memcpy(hcl, real, REQUEST_OFFSET + 20);
    put_u32le(hcl + 8, (uint32_t)size);                          /* header.report_size */
    put_u32le(hcl + REQUEST_OFFSET, (uint32_t)(20 + claims.size)); /* request.data_size */
    put_u32le(hcl + REQUEST_OFFSET + 12, 1);                     /* report_data_hash_type: SHA-256 */
    put_u32le(hcl + REQUEST_OFFSET + 16, (uint32_t)claims.size);  /* variable_data_size */
    memcpy(hcl + REQUEST_OFFSET + 20, claims.data, claims.size);
    uint8_t *report = hcl + HW_OFFSET;
    memset(report + SNP_REPORT_DATA, 0, 64);
    check(veil_sha256(claims.data, claims.size, report + SNP_REPORT_DATA) == 0, "sha256");

    /* the hierarchy: ARK -> ASK -> VCEK (with the real VCEK's extensions) */
    snprintf(path, sizeof(path), "%s/az-snp-vtpm/vcek.pem", vectors);
    FILE *f = fopen(path, "r");
    check(f != NULL, path);
    X509 *real_vcek = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    check(real_vcek != NULL, "cannot read the real VCEK");
    EVP_PKEY *ark_key = EVP_RSA_gen(2048), *ask_key = EVP_RSA_gen(2048), *vcek_key = NULL;
    check(ark_key && ask_key && veil_key_generate(VEIL_KEY_ECDSA_P384, &vcek_key) == 0, "key generation");
    X509 *ark = amd_cert("ARK-Milan", ark_key, NULL, ark_key, 1, NULL);
    X509 *ask = amd_cert("SEV-Milan", ask_key, ark, ark_key, 1, NULL);
    X509 *vcek = amd_cert("SEV-VCEK", vcek_key, ask, ask_key, 0, real_vcek);
    sign_report(report, vcek_key);

    snprintf(path, sizeof(path), "%s/trust", argv[3]);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/collateral", argv[3]);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/trust/ask_ark_milan.pem", argv[3]);
    write_pem(path, (X509 *[]){ ask, ark }, 2);
    snprintf(path, sizeof(path), "%s/collateral/vcek.pem", argv[3]);
    write_pem(path, (X509 *[]){ vcek }, 1);
    snprintf(path, sizeof(path), "%s/chain.pem", argv[3]);
    write_pem(path, (X509 *[]){ vcek, ask, ark }, 3);
    snprintf(path, sizeof(path), "%s/hcl.bin", argv[3]);
    check(veil_write_file_atomic(path, hcl, size, 0644) == 0, path);

    X509_free(ark);
    X509_free(ask);
    X509_free(vcek);
    X509_free(real_vcek);
    EVP_PKEY_free(ark_key);
    EVP_PKEY_free(ask_key);
    EVP_PKEY_free(vcek_key);
    EVP_PKEY_free(ak);
    free(hcl);
    free(real);
    free(n);
    free(e);
    veil_buf_done(&claims);
    return 0;
}
