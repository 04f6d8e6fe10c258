/* SPDX-License-Identifier: Apache-2.0 */
/* Intel DCAP quotes: SGX v3 and TDX v4/v5, parsed from untrusted bytes through the bounded cursor. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * Layouts from "Intel SGX ECDSA Quote Library API" (v3, Appendix A.4 "Quote Format")
 * and "Intel TDX DCAP Quote Generation Library and Quote Verification Library"
 * (rev. 0.9+, Appendix A.3 "Version 4 Quote Format" and A.4 "Version 5 Quote Format"):
 *
 *   Header (48): u16 version, u16 attestation key type (2 = ECDSA-256-with-P-256),
 *                u32 TEE type (v3: reserved = 0; 0x00 SGX, 0x81 TDX), u16 QE SVN / reserved,
 *                u16 PCE SVN / reserved, QE vendor id [16], user data [20]
 *   v3 body:     SGX enclave report body (384)
 *   v4 body:     TD report body TD1.0 (584)
 *   v5 body:     u16 body type (2 = TD1.0, 3 = TD1.5), u32 body size, body (584 or 648)
 *   u32 signature data length, then the ECDSA signature data (A.3.8 / A.4.x):
 *     quote signature [64] (r||s, big-endian, over header || body as laid out above)
 *     attestation public key [64] (x||y)
 *     v4/v5: certification data type 6 (QE Report Certification Data), u32 size, then:
 *     QE report (384, an SGX report body) | QE report signature [64] |
 *     u16 QE auth data size, QE auth data | certification data: u16 type 5
 *     (PCK certificate chain, PEM), u32 size, data.
 * Bytes after the signature data are not part of the quote and are ignored
 * (some captured quotes carry padding there); inside it every size must add up.
 */
#define VEIL_DCAP_HEADER_SIZE 48
#define VEIL_SGX_REPORT_BODY_SIZE 384
#define VEIL_TDX10_BODY_SIZE 584
#define VEIL_TDX15_BODY_SIZE 648
#define VEIL_DCAP_TEE_SGX 0x00000000u
#define VEIL_DCAP_TEE_TDX 0x00000081u
#define VEIL_DCAP_CERT_PCK_CHAIN 5
#define VEIL_DCAP_CERT_QE_REPORT 6
/* A PCK chain is ~4 KiB; refuse absurd sizes before anything else. */
#define VEIL_DCAP_QUOTE_MAX_SIZE ((size_t)64 << 10)

/* sgx_report_body_t (SGX ECDSA Quote Library API, A.4 "Enclave Report Body"). */
struct veil_sgx_report_body {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
};

/* TD report body (TDX DCAP spec A.3.2 "TD Quote Body"; TD1.5 adds the last two fields, A.4.2). */
struct veil_tdx_report_body {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];   /* TD1.5 */
    uint8_t mr_service_td[48];  /* TD1.5 */
};

/* A parsed quote. Pointers borrow from the buffer given to veil_dcap_quote_parse. */
struct veil_dcap_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint16_t body_type; /* 1 = SGX enclave, 2 = TD1.0, 3 = TD1.5 */
    struct veil_sgx_report_body enclave; /* when tee_type is SGX */
    struct veil_tdx_report_body td;      /* when tee_type is TDX */
    const uint8_t *signed_data;          /* header || body: what the quote signature covers */
    size_t signed_size;
    uint8_t signature[64];
    uint8_t att_key[64];
    const uint8_t *qe_report_raw; /* 384 bytes, signed by the PCK */
    struct veil_sgx_report_body qe_report;
    uint8_t qe_report_signature[64];
    const uint8_t *qe_auth;
    size_t qe_auth_size;
    const uint8_t *pck_chain; /* PEM, leaf first */
    size_t pck_chain_size;
    size_t trailing_size; /* bytes after the signature data */
};

/* Parse a quote; -EBADMSG naming the field on any inconsistency. */
int veil_dcap_quote_parse(const uint8_t *data, size_t size, struct veil_dcap_quote *ret) _warn_unused_;
/* Parse a 384-byte SGX report body (used for the QE report). */
int veil_sgx_report_body_parse(const uint8_t *data, size_t size, struct veil_sgx_report_body *ret) _warn_unused_;

/* Intel's QE vendor id (939a7233-f79c-4ca9-940a-0db3957f0607). */
extern const uint8_t veil_dcap_intel_qe_vendor_id[16];
