/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying an Intel TDX quote (v4, v5) offline and turning it into claims. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"
#include "collateral.h"

/* TD attribute bits (TDX module ABI spec, "TDATTRIBUTES"): DEBUG is bit 0. */
#define VEIL_TDX_ATTR_DEBUG 0x01u

/*
 * veil_dcap_verify_quote (dcap.h) for a TDX quote, then the options' policy
 * (TCB status, advisories: -EPERM; a DEBUG TD: -EPERM unless allowed), then claims:
 * measurement = MRTD, signer = MROWNER when non-zero, report data, debug,
 * tcb_status; details: rtmr0..3, mrconfigid, mrowner, mrownerconfig, mrseam,
 * mrsignerseam, td_attributes, xfam, tee_tcb_svn, fmspc, advisory_ids, statuses.
 */
int veil_tdx_verify(const uint8_t *quote, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) _warn_unused_;
