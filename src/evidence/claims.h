/* SPDX-License-Identifier: Apache-2.0 */
/* What verified evidence says about a workload: the one claims type every TEE verifier fills. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

enum veil_tee {
    VEIL_TEE_SIM = 1,   /* veil's software platform: no memory protection, development only */
    VEIL_TEE_SNP,       /* AMD SEV-SNP attestation report */
    VEIL_TEE_TDX,       /* Intel TDX quote (v4/v5) */
    VEIL_TEE_SGX,       /* Intel SGX DCAP quote (v3), verified only */
    VEIL_TEE_AZURE_SNP_VTPM, /* Azure confidential VM: HCL report (SNP) + vTPM quote */
};

/* TCB status as Intel's collateral names it; SNP maps its checks onto the same scale. */
enum veil_tcb_status {
    VEIL_TCB_UNKNOWN = 0,
    VEIL_TCB_UP_TO_DATE,
    VEIL_TCB_SW_HARDENING_NEEDED,
    VEIL_TCB_CONFIGURATION_NEEDED,
    VEIL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    VEIL_TCB_OUT_OF_DATE,
    VEIL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    VEIL_TCB_REVOKED,
};

#define VEIL_REPORT_DATA_SIZE 64
#define VEIL_MEASUREMENT_MAX 64

/*
 * Claims are filled only from evidence whose signature chain verified.
 * measurement: sim = veil measurement (SHA-256); SNP = MEASUREMENT (48 bytes);
 *   TDX = MRTD (48); SGX = MRENCLAVE (32).
 * signer: sim = signer id (SHA-256 of the image signer's public key); SGX = MRSIGNER;
 *   SNP = AUTHOR_KEY_DIGEST or ID_KEY_DIGEST when present (else empty); TDX = MROWNER when set.
 * `details` holds TEE-specific fields (RTMRs, host data, policy bits, TCB versions,
 * chip id, FMSPC, advisories ...) as a JSON object owned by the claims.
 */
struct veil_claims {
    enum veil_tee tee;
    uint8_t measurement[VEIL_MEASUREMENT_MAX];
    size_t measurement_size;
    uint8_t signer[VEIL_MEASUREMENT_MAX];
    size_t signer_size;
    uint32_t product_id;
    uint32_t security_version;
    bool debug;
    enum veil_tcb_status tcb_status;
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
    json_t *details;
};

const char *veil_tee_name(enum veil_tee tee);
int veil_tee_from_name(const char *name, enum veil_tee *ret) _warn_unused_;
const char *veil_tcb_status_name(enum veil_tcb_status status);
int veil_tcb_status_from_name(const char *name, enum veil_tcb_status *ret) _warn_unused_;

int veil_claims_new(enum veil_tee tee, struct veil_claims **ret) _warn_unused_;
void veil_claims_free(struct veil_claims *c);
VEIL_DEFINE_CLEANUP(struct veil_claims *, veil_claims_free, veil_claims_freep)

/* Lowercase hex of at most 256 bytes as a JSON string (new reference); NULL when larger.
 * Every verifier encodes binary claim details with it. */
json_t *veil_claims_hex_json(const uint8_t *data, size_t size);

/* The claims as a JSON object (new reference): binary fields hex-encoded. */
json_t *veil_claims_to_json(const struct veil_claims *c);
