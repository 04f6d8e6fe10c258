/* SPDX-License-Identifier: Apache-2.0 */
/* Reads SGX v3 and TDX v4/v5 quotes field by field (Intel DCAP quote format appendices). */
#include "dcap-quote.h"

#include <assert.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

static_assert(16 + 4 + 12 + 16 + 16 + 32 + 32 + 32 + 32 + 64 + 2 + 2 + 2 + 42 + 16 + 64 == VEIL_SGX_REPORT_BODY_SIZE,
              "sgx_report_body_t is 384 bytes");
static_assert(16 + 48 + 48 + 8 + 8 + 8 + 48 * 4 + 4 * 48 + 64 == VEIL_TDX10_BODY_SIZE, "TD1.0 quote body is 584 bytes");
static_assert(VEIL_TDX10_BODY_SIZE + 16 + 48 == VEIL_TDX15_BODY_SIZE, "TD1.5 quote body is 648 bytes");
static_assert(2 + 2 + 4 + 2 + 2 + 16 + 20 == VEIL_DCAP_HEADER_SIZE, "quote header is 48 bytes");

const uint8_t veil_dcap_intel_qe_vendor_id[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                   0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };

#define FIELD(call, name)                                                                          \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r < 0) return veil_err(_r, "DCAP quote: truncated at %s (offset %zu)", name, c->pos);  \
    } while (0)

static int parse_report_body(struct veil_cursor *c, struct veil_sgx_report_body *b) {
    FIELD(veil_cursor_read(c, b->cpu_svn, 16), "CPUSVN");
    FIELD(veil_cursor_u32le(c, &b->misc_select), "MISCSELECT");
    FIELD(veil_cursor_skip(c, 12), "reserved1");
    FIELD(veil_cursor_read(c, b->isv_ext_prod_id, 16), "ISVEXTPRODID");
    FIELD(veil_cursor_read(c, b->attributes, 16), "ATTRIBUTES");
    FIELD(veil_cursor_read(c, b->mr_enclave, 32), "MRENCLAVE");
    FIELD(veil_cursor_skip(c, 32), "reserved2");
    FIELD(veil_cursor_read(c, b->mr_signer, 32), "MRSIGNER");
    FIELD(veil_cursor_skip(c, 32), "reserved3");
    FIELD(veil_cursor_read(c, b->config_id, 64), "CONFIGID");
    FIELD(veil_cursor_u16le(c, &b->isv_prod_id), "ISVPRODID");
    FIELD(veil_cursor_u16le(c, &b->isv_svn), "ISVSVN");
    FIELD(veil_cursor_u16le(c, &b->config_svn), "CONFIGSVN");
    FIELD(veil_cursor_skip(c, 42), "reserved4");
    FIELD(veil_cursor_read(c, b->isv_family_id, 16), "ISVFAMILYID");
    FIELD(veil_cursor_read(c, b->report_data, 64), "REPORTDATA");
    return 0;
}

int veil_sgx_report_body_parse(const uint8_t *data, size_t size, struct veil_sgx_report_body *ret) {
    if (size != VEIL_SGX_REPORT_BODY_SIZE)
        return veil_err(-EBADMSG, "SGX report body is %zu bytes, expected %d", size, VEIL_SGX_REPORT_BODY_SIZE);
    struct veil_cursor cur = veil_cursor_make(data, size), *c = &cur;
    struct veil_sgx_report_body b;
    int r = parse_report_body(c, &b);
    if (r < 0) return r;
    *ret = b;
    return 0;
}

static int parse_td_body(struct veil_cursor *c, bool td15, struct veil_tdx_report_body *b) {
    FIELD(veil_cursor_read(c, b->tee_tcb_svn, 16), "TEE_TCB_SVN");
    FIELD(veil_cursor_read(c, b->mr_seam, 48), "MRSEAM");
    FIELD(veil_cursor_read(c, b->mr_signer_seam, 48), "MRSIGNERSEAM");
    FIELD(veil_cursor_read(c, b->seam_attributes, 8), "SEAMATTRIBUTES");
    FIELD(veil_cursor_read(c, b->td_attributes, 8), "TDATTRIBUTES");
    FIELD(veil_cursor_read(c, b->xfam, 8), "XFAM");
    FIELD(veil_cursor_read(c, b->mr_td, 48), "MRTD");
    FIELD(veil_cursor_read(c, b->mr_config_id, 48), "MRCONFIGID");
    FIELD(veil_cursor_read(c, b->mr_owner, 48), "MROWNER");
    FIELD(veil_cursor_read(c, b->mr_owner_config, 48), "MROWNERCONFIG");
    for (int i = 0; i < 4; i++) FIELD(veil_cursor_read(c, b->rtmr[i], 48), "RTMR");
    FIELD(veil_cursor_read(c, b->report_data, 64), "REPORTDATA");
    if (td15) {
        FIELD(veil_cursor_read(c, b->tee_tcb_svn2, 16), "TEE_TCB_SVN_2");
        FIELD(veil_cursor_read(c, b->mr_service_td, 48), "MRSERVICETD");
    }
    return 0;
}

/* A certification data header: u16 type, u32 size; the data becomes *ret. */
static int cert_data(struct veil_cursor *c, uint16_t want_type, struct veil_cursor *ret) {
    uint16_t type;
    uint32_t size;
    FIELD(veil_cursor_u16le(c, &type), "certification data type");
    if (type != want_type)
        return veil_err(-EBADMSG, "DCAP quote: certification data type is %u, expected %u (%s)", type, want_type,
                        want_type == VEIL_DCAP_CERT_PCK_CHAIN ? "PCK certificate chain" : "QE report certification data");
    FIELD(veil_cursor_u32le(c, &size), "certification data size");
    FIELD(veil_cursor_sub(c, size, ret), "certification data");
    return 0;
}

int veil_dcap_quote_parse(const uint8_t *data, size_t size, struct veil_dcap_quote *ret) {
    if (size > VEIL_DCAP_QUOTE_MAX_SIZE)
        return veil_err(-EBADMSG, "DCAP quote: %zu bytes is over the %zu-byte limit", size, VEIL_DCAP_QUOTE_MAX_SIZE);
    struct veil_cursor cur = veil_cursor_make(data, size), *c = &cur;
    struct veil_dcap_quote q;
    memset(&q, 0, sizeof(q));
    uint16_t reserved16;
    FIELD(veil_cursor_u16le(c, &q.version), "header.version");
    FIELD(veil_cursor_u16le(c, &q.att_key_type), "header.att_key_type");
    FIELD(veil_cursor_u32le(c, &q.tee_type), "header.tee_type");
    FIELD(veil_cursor_u16le(c, &reserved16), "header.qe_svn");
    FIELD(veil_cursor_u16le(c, &reserved16), "header.pce_svn");
    FIELD(veil_cursor_read(c, q.qe_vendor_id, 16), "header.qe_vendor_id");
    FIELD(veil_cursor_read(c, q.user_data, 20), "header.user_data");
    if (q.version == 3) {
        if (q.tee_type != VEIL_DCAP_TEE_SGX)
            return veil_err(-EBADMSG, "DCAP quote: version 3 with TEE type 0x%x (v3 quotes are SGX only)", q.tee_type);
    } else if (q.version == 4 || q.version == 5) {
        if (q.tee_type != VEIL_DCAP_TEE_TDX && q.tee_type != VEIL_DCAP_TEE_SGX)
            return veil_err(-EBADMSG, "DCAP quote: TEE type is 0x%x, expected 0x0 (SGX) or 0x81 (TDX)", q.tee_type);
    } else
        return veil_err(-EBADMSG, "DCAP quote: version is %u, expected 3, 4 or 5", q.version);
    if (q.att_key_type != 2)
        return veil_err(-EBADMSG, "DCAP quote: attestation key type is %u, expected 2 (ECDSA-256-with-P-256)",
                        q.att_key_type);

    if (q.version == 5) {
        uint32_t body_size;
        FIELD(veil_cursor_u16le(c, &q.body_type), "body type");
        FIELD(veil_cursor_u32le(c, &body_size), "body size");
        size_t want = q.body_type == 1 ? VEIL_SGX_REPORT_BODY_SIZE
                      : q.body_type == 2 ? VEIL_TDX10_BODY_SIZE
                      : q.body_type == 3 ? VEIL_TDX15_BODY_SIZE : 0;
        if (want == 0) return veil_err(-EBADMSG, "DCAP quote v5: body type %u, expected 1, 2 or 3", q.body_type);
        if (body_size != want)
            return veil_err(-EBADMSG, "DCAP quote v5: body size %u, expected %zu for body type %u", body_size, want,
                            q.body_type);
        if ((q.body_type == 1) != (q.tee_type == VEIL_DCAP_TEE_SGX))
            return veil_err(-EBADMSG, "DCAP quote v5: body type %u does not match TEE type 0x%x", q.body_type, q.tee_type);
    } else
        q.body_type = q.tee_type == VEIL_DCAP_TEE_SGX ? 1 : 2;

    int r = q.body_type == 1 ? parse_report_body(c, &q.enclave) : parse_td_body(c, q.body_type == 3, &q.td);
    if (r < 0) return r;
    q.signed_data = data;
    q.signed_size = c->pos;

    uint32_t sig_size;
    struct veil_cursor sig;
    FIELD(veil_cursor_u32le(c, &sig_size), "signature data length");
    FIELD(veil_cursor_sub(c, sig_size, &sig), "signature data");
    q.trailing_size = veil_cursor_remaining(c);
    c = &sig;
    FIELD(veil_cursor_read(c, q.signature, 64), "quote signature");
    FIELD(veil_cursor_read(c, q.att_key, 64), "attestation key");
    struct veil_cursor qe = sig;
    if (q.version >= 4) {
        r = cert_data(c, VEIL_DCAP_CERT_QE_REPORT, &qe);
        if (r < 0) return r;
        r = veil_cursor_expect_eof(c);
        if (r < 0) return veil_err(r, "DCAP quote: %zu bytes after the QE report certification data", veil_cursor_remaining(c));
        c = &qe;
    }
    FIELD(veil_cursor_borrow(c, VEIL_SGX_REPORT_BODY_SIZE, &q.qe_report_raw), "QE report");
    r = veil_sgx_report_body_parse(q.qe_report_raw, VEIL_SGX_REPORT_BODY_SIZE, &q.qe_report);
    if (r < 0) return r;
    FIELD(veil_cursor_read(c, q.qe_report_signature, 64), "QE report signature");
    uint16_t auth_size;
    FIELD(veil_cursor_u16le(c, &auth_size), "QE authentication data size");
    q.qe_auth_size = auth_size;
    FIELD(veil_cursor_borrow(c, auth_size, &q.qe_auth), "QE authentication data");
    struct veil_cursor chain;
    r = cert_data(c, VEIL_DCAP_CERT_PCK_CHAIN, &chain);
    if (r < 0) return r;
    r = veil_cursor_expect_eof(c);
    if (r < 0) return veil_err(r, "DCAP quote: %zu bytes after the PCK certificate chain", veil_cursor_remaining(c));
    q.pck_chain_size = veil_cursor_remaining(&chain);
    FIELD(veil_cursor_borrow(&chain, q.pck_chain_size, &q.pck_chain), "PCK certificate chain");
    *ret = q;
    return 0;
}
