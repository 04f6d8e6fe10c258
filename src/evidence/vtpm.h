/* SPDX-License-Identifier: Apache-2.0 */
/* Evidence from the Azure confidential VM vTPM: the HCL report in NV and a TPM2 quote by the attestation key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/macro.h"
#include "claims.h"

/*
 * Azure's vTPM layout (what the paravisor, "HCL", provides in a CVM):
 *   NV 0x01400001  the HCL report (docs/evidence.md, azure-hcl.h): the SNP report whose
 *                  REPORT_DATA is the hash of the runtime claims, which name the AK;
 *   NV 0x01400002  64 bytes of user data; writing it makes the HCL refresh 0x01400001
 *                  with "user-data" = that value;
 *   0x81000003     the attestation key (RSA 2048, restricted signing, RSASSA SHA-256).
 */
#define VEIL_VTPM_HCL_REPORT_INDEX 0x01400001u
#define VEIL_VTPM_REPORT_DATA_INDEX 0x01400002u
#define VEIL_VTPM_AK_HANDLE 0x81000003u
/* The TCTI used when none is given: the kernel's resource manager (an AKS CVM node exposes it). */
#define VEIL_VTPM_DEFAULT_TCTI "device:/dev/tpmrm0"
/* Environment variable naming the TCTI (e.g. "swtpm:path=/run/tpm.sock") when the caller gives none. */
#define VEIL_VTPM_TCTI_ENV "VEIL_TPM_TCTI"
/* An HCL report NV index larger than this is refused (Azure's is about 2.6 KiB). */
#define VEIL_VTPM_HCL_MAX_SIZE ((size_t)64 << 10)
/* Every SHA-256 PCR, as Azure verifiers (Trustee, MAA) expect. */
#define VEIL_VTPM_PCRS_ALL 0xffffffu

struct veil_vtpm_options {
    /* tss2 TCTI configuration ("device:/dev/tpmrm0", "swtpm:path=SOCKET", "mssim:host=…,port=…");
     * NULL = $VEIL_TPM_TCTI, else VEIL_VTPM_DEFAULT_TCTI. */
    const char *tcti;
    /* 0 = VEIL_VTPM_AK_HANDLE. */
    uint32_t ak_handle;
    /* SHA-256 PCRs to quote, bit i = PCR i; 0 = VEIL_VTPM_PCRS_ALL. */
    uint32_t pcr_mask;
    /* Optional certificates (concatenated DER, leaf first: VCEK, ASK, ARK) for the CERTS item;
     * in Azure they come from the instance metadata service, not from the TPM. */
    const uint8_t *certs;
    size_t certs_size;
};

/* The TCTI configuration opts selects (see the field). */
const char *veil_vtpm_tcti(const struct veil_vtpm_options *opts);

/*
 * Obtain az-snp-vtpm evidence for report_data and append it to out as an envelope:
 *   1. write report_data to NV 0x01400002 (defining it, owner auth, when absent);
 *   2. read NV 0x01400001 whole: the REPORT item;
 *   3. TPM2_Quote by the AK over the selected SHA-256 PCRs with qualifyingData =
 *      report_data: TPM_QUOTE (the TPMS_ATTEST bytes) and TPM_SIGNATURE (the raw
 *      RSASSA-PKCS1-v1_5 signature) items.
 * -ENXIO when the TCTI cannot be opened, -ENOENT when the HCL index or the AK does not
 * exist (not an Azure CVM), -EOPNOTSUPP for an AK that is not an RSASSA signing key,
 * -EIO for other TPM failures; each with a detail naming the TPM command and its
 * response code.
 */
int veil_vtpm_get_evidence(const struct veil_vtpm_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                           struct veil_buf *out) _warn_unused_;

/* True when the TCTI opens and NV 0x01400001 is defined: what `veil attest --tee auto` looks for. */
bool veil_vtpm_present(const struct veil_vtpm_options *opts);
