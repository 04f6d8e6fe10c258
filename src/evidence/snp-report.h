/* SPDX-License-Identifier: Apache-2.0 */
/* The AMD SEV-SNP attestation report (versions 2, 3 and 5), parsed field by field from untrusted bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * SEV Secure Nested Paging Firmware ABI Specification (AMD pub. 56860),
 * rev. 1.57, Table 23 "ATTESTATION_REPORT Structure" (Table 21 in rev. 1.55):
 *
 *   0x000 u32 VERSION (2, 3 or 5)        0x090 MEASUREMENT [48]
 *   0x004 u32 GUEST_SVN                  0x0C0 HOST_DATA [32]
 *   0x008 u64 POLICY (Table 9)           0x0E0 ID_KEY_DIGEST [48]
 *   0x010 FAMILY_ID [16]                 0x110 AUTHOR_KEY_DIGEST [48]
 *   0x020 IMAGE_ID [16]                  0x140 REPORT_ID [32]
 *   0x030 u32 VMPL                       0x160 REPORT_ID_MA [32]
 *   0x034 u32 SIGNATURE_ALGO (1 = ECDSA P-384 with SHA-384)
 *   0x038 u64 CURRENT_TCB (TCB_VERSION)  0x180 u64 REPORTED_TCB
 *   0x040 u64 PLATFORM_INFO              0x188 CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (v3+)
 *   0x048 u32 AUTHOR_KEY_EN:1 MASK_CHIP_KEY:1 SIGNING_KEY:3
 *   0x04C u32 reserved                   0x1A0 CHIP_ID [64]
 *   0x050 REPORT_DATA [64]               0x1E0 u64 COMMITTED_TCB
 *                                        0x1E8 CURRENT_BUILD/MINOR/MAJOR, rsvd
 *                                        0x1EC COMMITTED_BUILD/MINOR/MAJOR, rsvd
 *                                        0x1F0 u64 LAUNCH_TCB
 *                                        0x1F8 u64 LAUNCH_MIT_VECTOR (v5), 0x200 u64 CURRENT_MIT_VECTOR (v5)
 *   0x2A0 SIGNATURE [512]: R [72] little-endian, S [72] little-endian, reserved (Table 139,
 *         "ECDSA P-384 with SHA-384 Signature Format"), over bytes [0x000, 0x2A0).
 */
#define VEIL_SNP_REPORT_SIZE 0x4A0
#define VEIL_SNP_SIGNED_SIZE 0x2A0
#define VEIL_SNP_SIG_COORD_SIZE 72

/* POLICY bits (ABI spec Table 9 "Guest Policy Structure"). */
#define VEIL_SNP_POLICY_SMT (UINT64_C(1) << 16)
#define VEIL_SNP_POLICY_RESERVED1 (UINT64_C(1) << 17)
#define VEIL_SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define VEIL_SNP_POLICY_DEBUG (UINT64_C(1) << 19)
#define VEIL_SNP_POLICY_SINGLE_SOCKET (UINT64_C(1) << 20)

/* SIGNING_KEY values (bits 4:2 of the word at 0x48). */
#define VEIL_SNP_KEY_VCEK 0
#define VEIL_SNP_KEY_VLEK 1
#define VEIL_SNP_KEY_NONE 7

struct veil_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    bool author_key_en;
    bool mask_chip_key;
    uint32_t signing_key;
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* v3+, zero in v2 */
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector, current_mit_vector; /* v5 */
    uint8_t sig_r[VEIL_SNP_SIG_COORD_SIZE]; /* converted to big-endian */
    uint8_t sig_s[VEIL_SNP_SIG_COORD_SIZE];
};

/*
 * Parse exactly VEIL_SNP_REPORT_SIZE bytes. Refuses (-EBADMSG, naming the field)
 * other sizes, versions other than 2, 3 and 5, a signature algorithm other than
 * ECDSA P-384, and non-zero reserved fields that later versions may give meaning.
 */
int veil_snp_report_parse(const uint8_t *data, size_t size, struct veil_snp_report *ret) _warn_unused_;

/* TCB_VERSION (ABI spec Table 3; Turin: Table 4 with FMC first). */
struct veil_snp_tcb {
    uint8_t fmc; /* Turin only */
    uint8_t bootloader, tee, snp, microcode;
};
enum veil_snp_product {
    VEIL_SNP_PRODUCT_UNKNOWN = 0,
    VEIL_SNP_MILAN,
    VEIL_SNP_GENOA,
    VEIL_SNP_TURIN,
};
const char *veil_snp_product_name(enum veil_snp_product p);
struct veil_snp_tcb veil_snp_tcb_decode(uint64_t tcb, enum veil_snp_product product);
/* The product the report's CPUID fields name (v3+), or UNKNOWN (v2, or an unknown family/model). */
enum veil_snp_product veil_snp_report_product(const struct veil_snp_report *r);
