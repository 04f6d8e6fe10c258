/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying an AMD SEV-SNP attestation report offline: VCEK/VLEK signature, ASK/ARK chain to a trusted root, TCB. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"
#include "collateral.h"
#include "snp-report.h"

/*
 * What a verified report proved, for callers that wrap SNP (the Azure verifier):
 * the parsed report and the product whose trusted ARK anchored the chain.
 */
struct veil_snp_verified {
    struct veil_snp_report report;
    enum veil_snp_product product;
    char ark_origin[96]; /* "pinned", or "trust directory: ask_ark_<product>.pem" (details.ark) */
    bool ark_crl_checked; /* an ARK-issued CRL was in the collateral and does not revoke the ASK/ASVK */
};

/*
 * Verify a raw 1184-byte report against the certificates in `coll` (the VCEK or
 * VLEK, and the ASK/ASVK and ARK of its product; any extra certificates are
 * ignored), as of opts->now:
 *   1. the report parses (version 2, 3 or 5, ECDSA P-384);
 *   2. SIGNING_KEY names the VCEK or the VLEK, and a certificate of that kind is present;
 *   3. a VCEK's hwID extension equals CHIP_ID (unless MASK_CHIP_KEY);
 *   4. the key's TCB extensions (bl/tee/snp/ucode[/fmc]SPL) equal REPORTED_TCB;
 *   5. the report signature verifies under that key;
 *   6. the ASK (VCEK) or ASVK (VLEK) issued the key, the ARK issued the ASK and
 *      itself (RSASSA-PSS), all valid at now, and the ARK's public key is one of the
 *      pinned AMD roots (Milan, Genoa, Turin) or of opts->extra_amd_roots (the product
 *      is then the one that root was filed under);
 *   7. the product of the trusted ARK matches the report's CPUID (v3+) and the key's
 *      productName extension;
 *   8. when the collateral holds a CRL issued by the ARK (KDS /vcek/v1/{product}/crl),
 *      it is signed by the ARK, current at now, and does not revoke the ASK/ASVK.
 *      AMD publishes that CRL but configfs-tsm does not carry it, so its absence is
 *      recorded (details.ark_crl), not refused.
 * -EBADMSG for a malformed report, -EACCES for a failed check, each with a detail.
 */
int veil_snp_verify_report(const uint8_t *report, size_t size, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_snp_verified *ret) _warn_unused_;

/* Claims from a verified report (measurement, report data, policy bits, TCB, VMPL, … in details). */
int veil_snp_claims(const struct veil_snp_verified *v, struct veil_claims **ret) _warn_unused_;

/*
 * veil_snp_verify_report + the options' policy (debug refused with -EPERM unless
 * allowed) + claims. Writes *ret only on success.
 */
int veil_snp_verify(const uint8_t *report, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) _warn_unused_;
