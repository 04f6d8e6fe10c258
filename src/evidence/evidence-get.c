/* SPDX-License-Identifier: Apache-2.0 */
/* Obtaining evidence: the sim platform, configfs-tsm, or the legacy guest devices, wrapped in an envelope. */
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "evidence.h"
#include "sim.h"
#include "tsm.h"

static int get_sim(const struct veil_attest_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                   struct veil_buf *out) {
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *p = NULL;
    int r = veil_sim_platform_open(opts->sim_dir, true, &p);
    if (r < 0) return r;
    struct veil_sim_claims claims = {
        .product_id = opts->sim_product_id,
        .security_version = opts->sim_security_version,
    };
    memcpy(claims.measurement, opts->sim_measurement, sizeof(claims.measurement));
    memcpy(claims.signer, opts->sim_signer, sizeof(claims.signer));
    return veil_sim_get_evidence(p, &claims, report_data, out);
}

static int get_tsm(const struct veil_attest_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                   struct veil_buf *out) {
    struct veil_tsm_request req = {
        .base_dir = opts->tsm_dir,
        .expected_provider = opts->tee == VEIL_TEE_SNP ? "sev_guest" : opts->tee == VEIL_TEE_TDX ? "tdx_guest" : NULL,
    };
    struct veil_tsm_report rep;
    int r = veil_tsm_get_report(&req, report_data, &rep);
    if (r < 0) return r;
    struct veil_evidence ev = { .tee = rep.tee };
    ev.item[VEIL_EVIDENCE_REPORT] = rep.outblob;
    ev.item_size[VEIL_EVIDENCE_REPORT] = rep.outblob_size;
    ev.item[VEIL_EVIDENCE_AUXBLOB] = rep.auxblob;
    ev.item_size[VEIL_EVIDENCE_AUXBLOB] = rep.auxblob_size;
    r = veil_evidence_encode(&ev, out);
    veil_tsm_report_done(&rep);
    return r;
}

static int get_sevguest(const struct veil_attest_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                        struct veil_buf *out) {
    _cleanup_free_ uint8_t *report = NULL;
    size_t size;
    int r = veil_sevguest_get_report(opts->sev_guest_path, report_data, &report, &size);
    if (r < 0) return r;
    struct veil_evidence ev = { .tee = VEIL_TEE_SNP };
    ev.item[VEIL_EVIDENCE_REPORT] = report;
    ev.item_size[VEIL_EVIDENCE_REPORT] = size;
    return veil_evidence_encode(&ev, out);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int veil_evidence_get(const struct veil_attest_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                      struct veil_buf *out) {
    const char *tsm_dir = opts->tsm_dir ? opts->tsm_dir : VEIL_TSM_DEFAULT_DIR;
    const char *sev = opts->sev_guest_path ? opts->sev_guest_path : "/dev/sev-guest";
    const char *tdx = opts->tdx_guest_path ? opts->tdx_guest_path : "/dev/tdx_guest";
    switch ((int)opts->tee) {
    case VEIL_TEE_SIM:
        return get_sim(opts, report_data, out);
    case 0:
    case VEIL_TEE_SNP:
    case VEIL_TEE_TDX:
        if (exists(tsm_dir)) return get_tsm(opts, report_data, out);
        if (opts->tee != VEIL_TEE_TDX && exists(sev)) return get_sevguest(opts, report_data, out);
        if (opts->tee != VEIL_TEE_SNP && exists(tdx))
            return veil_err(-EOPNOTSUPP, "%s gives only a TDREPORT, which needs a quoting service to become "
                                         "verifiable evidence: use configfs-tsm (Linux >= 6.7)", tdx);
        return veil_err(-ENODEV, "no TEE found (no %s, %s or %s); for development use the sim TEE explicitly",
                        tsm_dir, sev, tdx);
    default:
        return veil_err(-EOPNOTSUPP, "cannot obtain %s evidence here", veil_tee_name(opts->tee));
    }
}
