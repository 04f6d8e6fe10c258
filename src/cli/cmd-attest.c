/* SPDX-License-Identifier: Apache-2.0 */
/* `veil attest`: obtain evidence for given report data and write it as an evidence envelope. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "command.h"
#include "evidence/evidence.h"

static void attest_usage(FILE *out) {
    fprintf(out,
            "usage: veil attest [--tee sim|snp|tdx|auto] [--report-data HEX] -o FILE\n"
            "  --report-data HEX   up to 64 bytes, zero-padded (default: zeros)\n"
            "  sim only (sim proves nothing about memory protection):\n"
            "    --measurement HEX --signer HEX   32 bytes each, the claims the caller vouches for\n"
            "    [--product-id N] [--security-version N] [--sim-dir DIR (default $VEIL_SIM_DIR)]\n"
            "  hardware: [--tsm-dir DIR (default %s)]\n",
            "/sys/kernel/config/tsm/report");
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
        {},
    };
    struct veil_attest_options opts = { 0 };
    uint8_t report_data[VEIL_REPORT_DATA_SIZE] = { 0 };
    const char *output = NULL;
    bool have_measurement = false, have_signer = false;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0) {
        switch (c) {
        case 't':
            if (!strcmp(optarg, "auto"))
                opts.tee = 0;
            else if (veil_tee_from_name(optarg, &opts.tee) < 0 ||
                     (opts.tee != VEIL_TEE_SIM && opts.tee != VEIL_TEE_SNP && opts.tee != VEIL_TEE_TDX)) {
                veil_log_error("--tee must be sim, snp, tdx or auto");
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
        case 'o': output = optarg; break;
        case 'h': attest_usage(stdout); return 0;
        default: attest_usage(stderr); return 2;
        }
    }
    if (optind != argc || !output) {
        attest_usage(stderr);
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
