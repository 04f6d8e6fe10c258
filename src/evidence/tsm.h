/* SPDX-License-Identifier: Apache-2.0 */
/* Hardware evidence through configfs-tsm (Linux >= 6.7) and the older /dev/sev-guest and /dev/tdx_guest ioctls. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"

#define VEIL_TSM_DEFAULT_DIR "/sys/kernel/config/tsm/report"
#define VEIL_TSM_OUTBLOB_MAX_SIZE ((size_t)1 << 20)
#define VEIL_TSM_AUXBLOB_MAX_SIZE ((size_t)1 << 20)

/* Sizes that a well-formed outblob must at least have (the report data must be inside). */
#define VEIL_SNP_REPORT_SIZE 0x4A0            /* SEV-SNP ABI spec 56860, table 22: ATTESTATION_REPORT */
#define VEIL_SNP_REPORT_DATA_OFFSET 0x50
#define VEIL_TDX_QUOTE_MIN_SIZE (48 + 584 + 4) /* Intel TDX DCAP quote v4: header, TD report body, sig size */
#define VEIL_TDX_QUOTE_REPORT_DATA_OFFSET (48 + 520)

struct veil_tsm_request {
    const char *base_dir;          /* NULL = VEIL_TSM_DEFAULT_DIR */
    const char *entry_name;        /* NULL = a fresh "veil-<pid>-<random>" that is removed afterwards */
    const char *expected_provider; /* NULL = sev_guest or tdx_guest */
    /* test hook: runs after outblob and auxblob were read, before generation is re-read */
    void (*after_read_hook)(const char *entry_dir, void *arg);
    void *hook_arg;
};

struct veil_tsm_report {
    enum veil_tee tee;   /* from the provider: sev_guest -> snp, tdx_guest -> tdx */
    char provider[32];
    uint8_t *outblob;    /* SNP: attestation report; TDX: quote */
    size_t outblob_size;
    uint8_t *auxblob;    /* SNP: certificate table (may be absent) */
    size_t auxblob_size;
    uint64_t generation;
};

/*
 * The configfs-tsm report protocol (Documentation/ABI/testing/configfs-tsm):
 * mkdir <base>/<entry>, write inblob (64 bytes of report data), read generation,
 * read provider, read outblob (the kernel asks the TEE now), read auxblob, read
 * generation again. A different generation means another writer changed the entry
 * between our write and our reads: -EBUSY. The outblob must carry our report data
 * at the provider's offset (-EBUSY otherwise), which closes the remaining window.
 * -ENXIO for an unexpected provider, -EBADMSG for a short outblob.
 */
int veil_tsm_get_report(const struct veil_tsm_request *req, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                        struct veil_tsm_report *ret) _warn_unused_;
void veil_tsm_report_done(struct veil_tsm_report *r);

/* SNP_GET_REPORT on /dev/sev-guest (path NULL = default): the 1184-byte report, malloc'd. Real hardware only. */
int veil_sevguest_get_report(const char *path, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                             uint8_t **ret_report, size_t *ret_size) _warn_unused_;

/* TDX_CMD_GET_REPORT0 on /dev/tdx_guest: the 1024-byte TDREPORT (a local report: it needs a
 * quoting service to become remotely verifiable). Real hardware only. */
#define VEIL_TDX_REPORT_SIZE 1024
int veil_tdxguest_get_report(const char *path, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                             uint8_t ret_report[VEIL_TDX_REPORT_SIZE]) _warn_unused_;
