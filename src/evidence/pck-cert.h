/* SPDX-License-Identifier: Apache-2.0 */
/* The Intel SGX extensions of a PCK certificate: FMSPC, PCE id and the platform's TCB (CPUSVN components, PCESVN). */
#pragma once

#include <openssl/x509.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * "Intel SGX PCK Certificate and Certificate Revocation List Profile Specification",
 * section 1.3.5 "Intel SGX Extensions": OID 1.2.840.113741.1.13.1, a SEQUENCE of
 * SEQUENCE { OID, value }:
 *   .1 PPID          OCTET STRING (16)
 *   .2 TCB           SEQUENCE of { OID .2.1 … .2.16 INTEGER (SGX TCB component SVNs),
 *                    .2.17 INTEGER (PCESVN), .2.18 OCTET STRING (16) (CPUSVN) }
 *   .3 PCE-ID        OCTET STRING (2)
 *   .4 FMSPC         OCTET STRING (6)
 *   .5 SGX Type      ENUMERATED (0 Standard, 1 Scalable, 2 Scalable with Integrity)
 *   .6, .7           (multi-package platforms; not needed here)
 */
struct veil_pck_info {
    uint8_t ppid[16];
    uint8_t cpu_svn_components[16];
    uint16_t pce_svn;
    uint8_t cpu_svn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    uint32_t sgx_type;
};

/* Read the extension; -EBADMSG naming the missing or malformed part. */
int veil_pck_info_parse(X509 *pck, struct veil_pck_info *ret) _warn_unused_;
