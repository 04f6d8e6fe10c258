/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying an Intel SGX DCAP quote (v3) offline and turning it into claims. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"
#include "collateral.h"

/* SGX ATTRIBUTES.FLAGS bits (Intel SDM Vol. 3D, 38.7.1 "ATTRIBUTES"): DEBUG is bit 1. */
#define VEIL_SGX_FLAG_DEBUG 0x02u

/*
 * veil_dcap_verify_quote (dcap.h) for an SGX quote, the options' policy, then claims:
 * measurement = MRENCLAVE, signer = MRSIGNER, product_id = ISVPRODID,
 * security_version = ISVSVN, debug = ATTRIBUTES.DEBUG, report data, tcb_status;
 * details: attributes, misc_select, cpu_svn, config_id, config_svn, fmspc, advisories.
 */
int veil_sgx_verify(const uint8_t *quote, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) _warn_unused_;
