/* SPDX-License-Identifier: Apache-2.0 */
/* Reads an SEV-SNP attestation report through the bounded cursor (SEV-SNP ABI spec, Table 23). */
#include "snp-report.h"

#include <assert.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

static_assert(VEIL_SNP_REPORT_SIZE == 1184, "ATTESTATION_REPORT is 1184 bytes (ABI spec Table 23)");
static_assert(VEIL_SNP_SIGNED_SIZE + 512 == VEIL_SNP_REPORT_SIZE, "signature is the last 512 bytes");

#define FIELD(call, name)                                                                          \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r < 0) return veil_err(_r, "SNP report: truncated at %s (offset 0x%zx)", name, c.pos); \
    } while (0)

static bool all_zero(const uint8_t *p, size_t size) {
    uint8_t acc = 0;
    for (size_t i = 0; i < size; i++) acc |= p[i];
    return acc == 0;
}

/* Read `size` reserved bytes that must be zero (MBZ in the spec). */
static int reserved(struct veil_cursor *c, size_t size, const char *name) {
    const uint8_t *p;
    int r = veil_cursor_borrow(c, size, &p);
    if (r < 0) return veil_err(r, "SNP report: truncated at %s", name);
    if (!all_zero(p, size))
        return veil_err(-EBADMSG, "SNP report: reserved field %s (offset 0x%zx) is not zero", name, c->pos - size);
    return 0;
}

/* Little-endian 72-byte coordinate to big-endian for OpenSSL. */
static int read_coord(struct veil_cursor *c, uint8_t out[VEIL_SNP_SIG_COORD_SIZE]) {
    const uint8_t *p;
    int r = veil_cursor_borrow(c, VEIL_SNP_SIG_COORD_SIZE, &p);
    if (r < 0) return r;
    for (size_t i = 0; i < VEIL_SNP_SIG_COORD_SIZE; i++) out[i] = p[VEIL_SNP_SIG_COORD_SIZE - 1 - i];
    return 0;
}

int veil_snp_report_parse(const uint8_t *data, size_t size, struct veil_snp_report *ret) {
    if (size != VEIL_SNP_REPORT_SIZE)
        return veil_err(-EBADMSG, "SNP report: size is %zu bytes, expected %d (ABI spec Table 23)", size,
                        VEIL_SNP_REPORT_SIZE);
    struct veil_cursor c = veil_cursor_make(data, size);
    struct veil_snp_report r = { 0 };
    uint32_t flags, u32;

    FIELD(veil_cursor_u32le(&c, &r.version), "VERSION");
    if (r.version != 2 && r.version != 3 && r.version != 5)
        return veil_err(-EBADMSG, "SNP report: VERSION is %u, expected 2, 3 or 5", r.version);
    FIELD(veil_cursor_u32le(&c, &r.guest_svn), "GUEST_SVN");
    FIELD(veil_cursor_u64le(&c, &r.policy), "POLICY");
    FIELD(veil_cursor_read(&c, r.family_id, 16), "FAMILY_ID");
    FIELD(veil_cursor_read(&c, r.image_id, 16), "IMAGE_ID");
    FIELD(veil_cursor_u32le(&c, &r.vmpl), "VMPL");
    FIELD(veil_cursor_u32le(&c, &r.signature_algo), "SIGNATURE_ALGO");
    if (r.signature_algo != 1)
        return veil_err(-EBADMSG, "SNP report: SIGNATURE_ALGO is %u, expected 1 (ECDSA P-384 with SHA-384)",
                        r.signature_algo);
    FIELD(veil_cursor_u64le(&c, &r.current_tcb), "CURRENT_TCB");
    FIELD(veil_cursor_u64le(&c, &r.platform_info), "PLATFORM_INFO");
    FIELD(veil_cursor_u32le(&c, &flags), "AUTHOR_KEY_EN/MASK_CHIP_KEY/SIGNING_KEY");
    r.author_key_en = flags & 1;
    r.mask_chip_key = flags >> 1 & 1;
    r.signing_key = flags >> 2 & 7;
    FIELD(veil_cursor_u32le(&c, &u32), "reserved 0x4C");
    FIELD(veil_cursor_read(&c, r.report_data, 64), "REPORT_DATA");
    FIELD(veil_cursor_read(&c, r.measurement, 48), "MEASUREMENT");
    FIELD(veil_cursor_read(&c, r.host_data, 32), "HOST_DATA");
    FIELD(veil_cursor_read(&c, r.id_key_digest, 48), "ID_KEY_DIGEST");
    FIELD(veil_cursor_read(&c, r.author_key_digest, 48), "AUTHOR_KEY_DIGEST");
    FIELD(veil_cursor_read(&c, r.report_id, 32), "REPORT_ID");
    FIELD(veil_cursor_read(&c, r.report_id_ma, 32), "REPORT_ID_MA");
    FIELD(veil_cursor_u64le(&c, &r.reported_tcb), "REPORTED_TCB");
    if (r.version >= 3) {
        FIELD(veil_cursor_u8(&c, &r.cpuid_fam_id), "CPUID_FAM_ID");
        FIELD(veil_cursor_u8(&c, &r.cpuid_mod_id), "CPUID_MOD_ID");
        FIELD(veil_cursor_u8(&c, &r.cpuid_step), "CPUID_STEP");
        FIELD(reserved(&c, 0x1A0 - 0x18B, "0x18B..0x1A0"), "reserved 0x18B");
    } else
        FIELD(reserved(&c, 0x1A0 - 0x188, "0x188..0x1A0"), "reserved 0x188");
    FIELD(veil_cursor_read(&c, r.chip_id, 64), "CHIP_ID");
    FIELD(veil_cursor_u64le(&c, &r.committed_tcb), "COMMITTED_TCB");
    FIELD(veil_cursor_u8(&c, &r.current_build), "CURRENT_BUILD");
    FIELD(veil_cursor_u8(&c, &r.current_minor), "CURRENT_MINOR");
    FIELD(veil_cursor_u8(&c, &r.current_major), "CURRENT_MAJOR");
    FIELD(veil_cursor_skip(&c, 1), "reserved 0x1EB");
    FIELD(veil_cursor_u8(&c, &r.committed_build), "COMMITTED_BUILD");
    FIELD(veil_cursor_u8(&c, &r.committed_minor), "COMMITTED_MINOR");
    FIELD(veil_cursor_u8(&c, &r.committed_major), "COMMITTED_MAJOR");
    FIELD(veil_cursor_skip(&c, 1), "reserved 0x1EF");
    FIELD(veil_cursor_u64le(&c, &r.launch_tcb), "LAUNCH_TCB");
    if (r.version >= 5) {
        FIELD(veil_cursor_u64le(&c, &r.launch_mit_vector), "LAUNCH_MIT_VECTOR");
        FIELD(veil_cursor_u64le(&c, &r.current_mit_vector), "CURRENT_MIT_VECTOR");
    }
    /* The rest of the signed area is reserved; the firmware signs whatever is there. */
    FIELD(veil_cursor_seek(&c, VEIL_SNP_SIGNED_SIZE), "SIGNATURE");
    FIELD(read_coord(&c, r.sig_r), "SIGNATURE.R");
    FIELD(read_coord(&c, r.sig_s), "SIGNATURE.S");
    FIELD(reserved(&c, 512 - 2 * VEIL_SNP_SIG_COORD_SIZE, "SIGNATURE reserved"), "SIGNATURE reserved");
    int k = veil_cursor_expect_eof(&c);
    if (k < 0) return k;
    *ret = r;
    return 0;
}

const char *veil_snp_product_name(enum veil_snp_product p) {
    switch (p) {
    case VEIL_SNP_MILAN: return "Milan";
    case VEIL_SNP_GENOA: return "Genoa";
    case VEIL_SNP_TURIN: return "Turin";
    default: return "unknown";
    }
}

struct veil_snp_tcb veil_snp_tcb_decode(uint64_t tcb, enum veil_snp_product product) {
    uint8_t b[8];
    veil_store_u64le(b, tcb);
    if (product == VEIL_SNP_TURIN) /* Table 4: FMC, BOOT_LOADER, TEE, SNP, reserved[3], MICROCODE */
        return (struct veil_snp_tcb){ .fmc = b[0], .bootloader = b[1], .tee = b[2], .snp = b[3], .microcode = b[7] };
    /* Table 3: BOOT_LOADER, TEE, reserved[4], SNP, MICROCODE */
    return (struct veil_snp_tcb){ .bootloader = b[0], .tee = b[1], .snp = b[6], .microcode = b[7] };
}

enum veil_snp_product veil_snp_report_product(const struct veil_snp_report *r) {
    if (r->version < 3) return VEIL_SNP_PRODUCT_UNKNOWN;
    /* Family 19h: models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa; family 1Ah: Turin. */
    if (r->cpuid_fam_id == 0x19 && r->cpuid_mod_id <= 0x0f) return VEIL_SNP_MILAN;
    if (r->cpuid_fam_id == 0x19 && ((r->cpuid_mod_id >= 0x10 && r->cpuid_mod_id <= 0x1f) ||
                                    (r->cpuid_mod_id >= 0xa0 && r->cpuid_mod_id <= 0xaf)))
        return VEIL_SNP_GENOA;
    if (r->cpuid_fam_id == 0x1a) return VEIL_SNP_TURIN;
    return VEIL_SNP_PRODUCT_UNKNOWN;
}
