/* SPDX-License-Identifier: Apache-2.0 */
/* TPM 2.0 quotes (TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE) as the Azure vTPM produces them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * TCG TPM 2.0 Library, Part 2 "Structures", big-endian:
 *   10.12.12 TPMS_ATTEST: u32 magic (TPM_GENERATED_VALUE 0xff544347), u16 type
 *            (TPM_ST_ATTEST_QUOTE 0x8018), TPM2B_NAME qualifiedSigner, TPM2B_DATA extraData,
 *            TPMS_CLOCK_INFO (10.11.1: u64 clock, u32 resetCount, u32 restartCount, u8 safe),
 *            u64 firmwareVersion, TPMU_ATTEST (here TPMS_QUOTE_INFO)
 *   10.12.4  TPMS_QUOTE_INFO: TPML_PCR_SELECTION pcrSelect, TPM2B_DIGEST pcrDigest
 *   10.9.7   TPML_PCR_SELECTION: u32 count, TPMS_PCR_SELECTION[count]
 *   10.6.2   TPMS_PCR_SELECTION: u16 hash (TPM_ALG_ID), u8 sizeofSelect, pcrSelect bitmap
 */
#define VEIL_TPM_GENERATED_VALUE 0xff544347u
#define VEIL_TPM_ST_ATTEST_QUOTE 0x8018u
#define VEIL_TPM_ALG_SHA256 0x000bu
#define VEIL_TPM_PCR_COUNT 24
#define VEIL_TPM_QUOTE_MAX_SIZE 1024

struct veil_tpm_quote {
    uint8_t extra_data[64];
    size_t extra_data_size;
    uint64_t clock;
    uint32_t reset_count, restart_count;
    uint64_t firmware_version;
    uint16_t pcr_hash;       /* the one bank selected (Azure quotes select one) */
    uint32_t pcr_mask;       /* bit i = PCR i selected */
    uint8_t pcr_digest[64];
    size_t pcr_digest_size;
};

/* Parse a TPMS_ATTEST quote; -EBADMSG naming the field. */
int veil_tpm_quote_parse(const uint8_t *data, size_t size, struct veil_tpm_quote *ret) _warn_unused_;
