/* SPDX-License-Identifier: Apache-2.0 */
/* `veil attest`: obtain evidence for given report data and write it as an evidence envelope. */
#include <assert.h>
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "command.h"
#include "evidence/evidence.h"
#include "evidence/vtpm.h"

static void attest_usage(FILE *out) {
    fprintf(out,
            "usage: veil attest [--tee sim|snp|tdx|auto] [--report-data HEX] -o FILE\n"
            "  --report-data HEX   up to 64 bytes, zero-padded (default: zeros)\n"
            "  sim only (sim proves nothing about memory protection):\n"
            "    --measurement HEX --signer HEX   32 bytes each, the claims the caller vouches for\n"
            "    [--product-id N] [--security-version N] [--sim-dir DIR (default $VEIL_SIM_DIR)]\n"
            "  hardware: [--tsm-dir DIR (default %s)]\n"
            "  az-snp-vtpm (Azure CVM vTPM; auto picks it when the HCL report index exists):\n"
            "    [--tcti CONF (default $VEIL_TPM_TCTI, else device:/dev/tpmrm0)] [--certs FILE (VCEK chain, DER or PEM)]\n"
            "or wrap evidence captured elsewhere (no TEE is asked):\n"
            "  veil attest --tee sim|snp|tdx|sgx|az-snp-vtpm --report FILE [--certs FILE (DER or PEM)]\n"
            "    [--auxblob FILE] [--collateral FILE] [--runtime-data FILE] [--tpm-quote FILE] [--tpm-signature FILE] -o FILE\n",
            "/sys/kernel/config/tsm/report");
}

/* Files given with --report/--certs/...: the envelope item each fills. */
static const struct {
    const char *option;
    enum veil_evidence_item item;
} import_items[] = {
    { "report", VEIL_EVIDENCE_REPORT },
    { "certs", VEIL_EVIDENCE_CERTS },
    { "auxblob", VEIL_EVIDENCE_AUXBLOB },
    { "collateral", VEIL_EVIDENCE_COLLATERAL },
    { "runtime-data", VEIL_EVIDENCE_RUNTIME_DATA },
    { "tpm-quote", VEIL_EVIDENCE_TPM_QUOTE },
    { "tpm-signature", VEIL_EVIDENCE_TPM_SIGNATURE },
};
#define IMPORT_OPTION_BASE 0x1000

/* A certificate file as concatenated DER: PEM (one or more certificates) is converted, DER kept. */
static int load_certs(const char *path, uint8_t **ret, size_t *ret_size) {
    uint8_t *data;
    size_t size;
    int r = veil_read_file(path, VEIL_EVIDENCE_ITEM_MAX_SIZE, &data, &size);
    if (r < 0) return r;
    if (size < 11 || memcmp(data, "-----BEGIN", 10) != 0) {
        *ret = data;
        *ret_size = size;
        return 0;
    }
    BIO *bio = BIO_new_mem_buf(data, (int)size);
    struct veil_buf der = { .limit = VEIL_EVIDENCE_ITEM_MAX_SIZE };
    X509 *cert;
    r = bio ? 0 : -ENOMEM;
    while (r >= 0 && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        unsigned char *one = NULL;
        int n = i2d_X509(cert, &one);
        r = n > 0 ? veil_buf_append(&der, one, (size_t)n) : -EBADMSG;
        OPENSSL_free(one);
        X509_free(cert);
    }
    ERR_clear_error();
    BIO_free(bio);
    free(data);
    if (r >= 0 && der.size == 0) r = veil_err(-EBADMSG, "%s holds no PEM certificate", path);
    if (r < 0) {
        veil_buf_done(&der);
        return r;
    }
    *ret = veil_buf_steal(&der, ret_size);
    return 0;
}

/* Wrap evidence captured elsewhere (a report or quote file and its companions) in an envelope. */
static int import_evidence(enum veil_tee tee, const char *const paths[], struct veil_buf *out) {
    struct veil_evidence ev = { .tee = tee };
    uint8_t *owned[VEIL_EVIDENCE_ITEM_COUNT] = { 0 };
    int r = 0;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(import_items); i++) {
        enum veil_evidence_item item = import_items[i].item;
        if (!paths[i]) continue;
        if (item == VEIL_EVIDENCE_CERTS)
            r = load_certs(paths[i], &owned[item], &ev.item_size[item]);
        else
            r = veil_read_file(paths[i], VEIL_EVIDENCE_ITEM_MAX_SIZE, &owned[item], &ev.item_size[item]);
        if (r < 0) r = veil_err(r, "--%s %s: %s", import_items[i].option, paths[i], veil_err_msg());
        ev.item[item] = owned[item];
    }
    if (r >= 0) r = veil_evidence_encode(&ev, out);
    for (size_t i = 0; i < VEIL_EVIDENCE_ITEM_COUNT; i++) free(owned[i]);
    return r;
}

static int parse_u32_arg(const char *s, uint32_t *ret) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || !*s || *end || v > UINT32_MAX || *s == '-') return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

int veil_cmd_attest(int argc, char **argv) {
    static const struct option options[] = {
        { "tee", required_argument, NULL, 't' },
        { "report-data", required_argument, NULL, 'r' },
        { "measurement", required_argument, NULL, 'm' },
        { "signer", required_argument, NULL, 's' },
        { "product-id", required_argument, NULL, 'p' },
        { "security-version", required_argument, NULL, 'v' },
        { "sim-dir", required_argument, NULL, 'd' },
        { "tsm-dir", required_argument, NULL, 'T' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "tcti", required_argument, NULL, 'C' },
        { "report", required_argument, NULL, IMPORT_OPTION_BASE + 0 },
        { "certs", required_argument, NULL, IMPORT_OPTION_BASE + 1 },
        { "auxblob", required_argument, NULL, IMPORT_OPTION_BASE + 2 },
        { "collateral", required_argument, NULL, IMPORT_OPTION_BASE + 3 },
        { "runtime-data", required_argument, NULL, IMPORT_OPTION_BASE + 4 },
        { "tpm-quote", required_argument, NULL, IMPORT_OPTION_BASE + 5 },
        { "tpm-signature", required_argument, NULL, IMPORT_OPTION_BASE + 6 },
        {},
    };
    static_assert(ELEMENTSOF(import_items) == 7, "one option per import item");
    const char *import_paths[ELEMENTSOF(import_items)] = { 0 };
    bool importing = false;
    struct veil_attest_options opts = { 0 };
    uint8_t report_data[VEIL_REPORT_DATA_SIZE] = { 0 };
    const char *output = NULL;
    bool have_measurement = false, have_signer = false;
    struct veil_vtpm_options vtpm = { 0 };
    int c;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0) {
        switch (c) {
        case 't':
            if (!strcmp(optarg, "auto"))
                opts.tee = 0;
            else if (veil_tee_from_name(optarg, &opts.tee) < 0) {
                veil_log_error("--tee must be sim, snp, tdx, sgx, az-snp-vtpm or auto");
                return 2;
            }
            break;
        case 'r': {
            size_t len = strlen(optarg);
            if (len % 2 || len > 2 * VEIL_REPORT_DATA_SIZE || veil_hex_decode(optarg, report_data, len / 2) < 0) {
                veil_log_error("--report-data must be at most %d bytes of hex", VEIL_REPORT_DATA_SIZE);
                return 2;
            }
            break;
        }
        case 'm':
        case 's': {
            uint8_t *dst = c == 'm' ? opts.sim_measurement : opts.sim_signer;
            if (strlen(optarg) != 64 || veil_hex_decode(optarg, dst, 32) < 0) {
                veil_log_error("--%s must be 32 bytes of hex", c == 'm' ? "measurement" : "signer");
                return 2;
            }
            *(c == 'm' ? &have_measurement : &have_signer) = true;
            break;
        }
        case 'p':
        case 'v':
            if (parse_u32_arg(optarg, c == 'p' ? &opts.sim_product_id : &opts.sim_security_version) < 0) {
                veil_log_error("--%s must be a number", c == 'p' ? "product-id" : "security-version");
                return 2;
            }
            break;
        case 'd': opts.sim_dir = optarg; break;
        case 'T': opts.tsm_dir = optarg; break;
        case 'C': vtpm.tcti = optarg; break;
        case 'o': output = optarg; break;
        case 'h': attest_usage(stdout); return 0;
        default:
            if (c >= IMPORT_OPTION_BASE && c < IMPORT_OPTION_BASE + (int)ELEMENTSOF(import_items)) {
                import_paths[c - IMPORT_OPTION_BASE] = optarg;
                importing = true;
                break;
            }
            attest_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !output) {
        attest_usage(stderr);
        return 2;
    }
    /* az-snp-vtpm is obtained, not imported, when --report is absent; --certs then adds the VCEK chain */
    bool vtpm_path = opts.tee == VEIL_TEE_AZURE_SNP_VTPM && !import_paths[0];
    for (size_t i = 2; vtpm_path && i < ELEMENTSOF(import_paths); i++)
        if (import_paths[i]) {
            veil_log_error("--%s is for importing (with --report); the vTPM path takes --certs only", import_items[i].option);
            return 2;
        }
    if (vtpm_path) importing = false;
    if (importing) {
        if (opts.tee == 0 || !import_paths[0] || have_measurement || have_signer) {
            veil_log_error("importing needs --tee and --report, and takes no sim claims");
            return 2;
        }
        struct veil_buf imported = { 0 };
        veil_err_clear();
        int r = import_evidence(opts.tee, import_paths, &imported);
        if (r >= 0) r = veil_write_file_atomic(output, imported.data, imported.size, 0644);
        veil_buf_done(&imported);
        if (r < 0) {
            veil_log_error("attest: %s", veil_err_describe(r));
            return 1;
        }
        return 0;
    }
    /* tss2 logs its own errors to stderr; ours carry the TPM command and code already */
    setenv("TSS2_LOG", "all+NONE", 0);
    if (!vtpm_path && opts.tee == 0 && !have_measurement && !have_signer && veil_vtpm_present(&vtpm)) vtpm_path = true;
    if (vtpm_path) {
        if (have_measurement || have_signer) {
            veil_log_error("--measurement and --signer are for --tee sim only (hardware measures the workload itself)");
            return 2;
        }
        _cleanup_free_ uint8_t *certs = NULL;
        struct veil_buf evidence = { 0 };
        veil_err_clear();
        int r = import_paths[1] ? load_certs(import_paths[1], &certs, &vtpm.certs_size) : 0;
        vtpm.certs = certs;
        if (r >= 0) r = veil_vtpm_get_evidence(&vtpm, report_data, &evidence);
        if (r >= 0) r = veil_write_file_atomic(output, evidence.data, evidence.size, 0644);
        veil_buf_done(&evidence);
        if (r < 0) {
            veil_log_error("attest: %s", veil_err_describe(r));
            return 1;
        }
        return 0;
    }
    if (opts.tee != 0 && opts.tee != VEIL_TEE_SIM && opts.tee != VEIL_TEE_SNP && opts.tee != VEIL_TEE_TDX) {
        veil_log_error("only sim, snp and tdx evidence can be obtained here (%s: import it with --report)",
                       veil_tee_name(opts.tee));
        return 2;
    }
    if (opts.tee == VEIL_TEE_SIM && (!have_measurement || !have_signer)) {
        veil_log_error("--tee sim needs --measurement and --signer (the claims the sim platform will sign)");
        return 2;
    }
    if (opts.tee != VEIL_TEE_SIM && (have_measurement || have_signer)) {
        veil_log_error("--measurement and --signer are for --tee sim only (hardware measures the workload itself)");
        return 2;
    }
    struct veil_buf evidence = { 0 };
    veil_err_clear();
    int r = veil_evidence_get(&opts, report_data, &evidence);
    if (r >= 0) r = veil_write_file_atomic(output, evidence.data, evidence.size, 0644);
    veil_buf_done(&evidence);
    if (r < 0) {
        veil_log_error("attest: %s", veil_err_describe(r));
        return 1;
    }
    if (opts.tee == VEIL_TEE_SIM)
        veil_log_warning("wrote sim evidence: it proves nothing about memory protection (development only)");
    return 0;
}
