/* SPDX-License-Identifier: Apache-2.0 */
/* The Intel DCAP chain shared by TDX and SGX quotes: quote signature, QE binding, PCK chain and CRLs, TCB status. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"
#include "collateral.h"
#include "dcap-quote.h"
#include "pck-cert.h"

/* SHA-256 of the Intel SGX Root CA certificate (DER), the one root DCAP trusts. */
#define VEIL_INTEL_SGX_ROOT_CA_SHA256 "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

struct veil_dcap_verified {
    struct veil_dcap_quote quote; /* borrows from the quote buffer */
    struct veil_pck_info pck;
    enum veil_tcb_status tcb_status; /* platform, TDX module and QE converged */
    json_t *details;                 /* fmspc, advisory_ids, statuses, tcb_date, collateral_missing (owned) */
};
void veil_dcap_verified_done(struct veil_dcap_verified *v);

/*
 * Verify a quote's whole chain as of opts->now, in this order (each failure is
 * -EACCES, or -EBADMSG for malformed input, with a detail naming the check):
 *   1. the quote parses and is of the expected TEE (tdx: v4/v5 TDX; else v3/v4/v5 SGX),
 *      with Intel's QE vendor id;
 *   2. the quote signature (ECDSA P-256 over header || body) verifies under the
 *      attestation key;
 *   3. the QE report binds that key: REPORTDATA = SHA-256(attestation key || QE auth
 *      data) || 32 zero bytes;
 *   4. the PCK chain in the quote leads to the pinned Intel SGX Root CA, every
 *      certificate valid at now; the PCK key verifies the QE report signature;
 *   5. the PCK CRL (from the PCK's issuer CA) and the root CA CRL are signed by their
 *      issuers, current, and revoke neither the PCK nor its CA;
 *   6. a TCB info for the PCK's FMSPC (and matching PCE id) with a valid signature
 *      by a TCB Signing certificate chained to the root, current at now, gives the
 *      platform (and TDX module) status; the QE identity (QE for SGX, TD_QE for TDX),
 *      checked the same way, gives the QE status; the two converge.
 * Missing CRLs or QE identity fail unless opts->allow_incomplete_collateral.
 */
int veil_dcap_verify_quote(const uint8_t *quote, size_t size, bool tdx, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_dcap_verified *ret) _warn_unused_;

/* The options' TCB-status and advisory policy: -EPERM when refused. */
int veil_dcap_check_policy(const struct veil_dcap_verified *v, const struct veil_hw_options *opts) _warn_unused_;
