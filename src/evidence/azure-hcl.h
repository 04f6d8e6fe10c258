/* SPDX-License-Identifier: Apache-2.0 */
/* The Azure confidential VM HCL report (vTPM NV index 0x01400001): header, SNP report, runtime claims. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * Layout (Microsoft's IGVM "attestation report" as the paravisor writes it; mirrored
 * by the open az-cvm-vtpm crate, hcl.rs), little-endian:
 *   0x000  header (32): u32 signature "HCLA", u32 version, u32 report_size,
 *          u32 request_type, u32 status, u32 reserved[3]
 *   0x020  hardware report (1184): the SEV-SNP ATTESTATION_REPORT (TDX: a TDREPORT, not handled)
 *   0x4C0  IGVM request data: u32 data_size (20 + variable size), u32 version,
 *          u32 report_type (2 = SNP, 4 = TDX), u32 report_data_hash_type
 *          (1 = SHA-256, 2 = SHA-384, 3 = SHA-512), u32 variable_data_size,
 *          variable data: the runtime-claims JSON
 *   then zero padding up to the NV index size.
 * The SNP report's REPORT_DATA holds hash(variable data), zero-padded: that is what
 * makes the runtime claims (and the vTPM AK in them) as trustworthy as the report.
 */
#define VEIL_HCL_HEADER_SIZE 0x20
#define VEIL_HCL_HW_REPORT_SIZE 1184
#define VEIL_HCL_REQUEST_OFFSET 0x4C0
#define VEIL_HCL_REQUEST_HEADER_SIZE 20
#define VEIL_HCL_MAX_SIZE ((size_t)64 << 10)
#define VEIL_HCL_REPORT_TYPE_SNP 2
#define VEIL_HCL_REPORT_TYPE_TDX 4

struct veil_azure_hcl {
    uint32_t version;
    uint32_t report_size;
    uint32_t request_type;
    uint32_t report_type;
    uint32_t hash_type;
    const uint8_t *hw_report; /* VEIL_HCL_HW_REPORT_SIZE bytes */
    const uint8_t *runtime_claims;
    size_t runtime_claims_size;
};

/* Parse; -EBADMSG naming the field. Bytes after report_size must be zero padding. */
int veil_azure_hcl_parse(const uint8_t *data, size_t size, struct veil_azure_hcl *ret) _warn_unused_;
