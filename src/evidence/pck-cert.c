/* SPDX-License-Identifier: Apache-2.0 */
/* Parses the SGX extension of a PCK certificate through the DER cursor. */
#include "pck-cert.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "collateral-der.h"
#include "collateral.h"
#include "crypto/ossl.h"

#define OID_SGX "1.2.840.113741.1.13.1"

static int octets(struct veil_cursor value, uint8_t *out, size_t size, const char *what) {
    if (veil_cursor_remaining(&value) != size)
        return veil_err(-EBADMSG, "PCK certificate: %s is %zu bytes, expected %zu", what, veil_cursor_remaining(&value), size);
    return veil_cursor_read(&value, out, size);
}

/* One SEQUENCE { OID, value }: the OID's text after the SGX prefix, and the value TLV. */
static int member(struct veil_cursor *seq, uint8_t *ret_tag, struct veil_cursor *ret_value, struct veil_cursor *ret_oid) {
    struct veil_cursor m;
    int r = veil_der_expect(seq, VEIL_DER_SEQUENCE, &m);
    if (r < 0) return r;
    r = veil_der_expect(&m, VEIL_DER_OID, ret_oid);
    if (r < 0) return r;
    r = veil_der_read(&m, ret_tag, ret_value);
    if (r < 0) return r;
    return veil_cursor_expect_eof(&m);
}

static bool oid_is(struct veil_cursor oid, const char *suffix) {
    char full[64];
    snprintf(full, sizeof(full), "%s%s", OID_SGX, suffix);
    return veil_der_oid_equals(oid, full);
}

static int parse_tcb(struct veil_cursor tcb, struct veil_pck_info *info) {
    unsigned seen = 0;
    while (!veil_cursor_eof(&tcb)) {
        uint8_t tag;
        struct veil_cursor value, oid;
        int r = member(&tcb, &tag, &value, &oid);
        if (r < 0) return r;
        for (unsigned i = 1; i <= 18; i++) {
            char suffix[16];
            snprintf(suffix, sizeof(suffix), ".2.%u", i);
            if (!oid_is(oid, suffix)) continue;
            uint64_t v = 0;
            if (i <= 17) {
                if (tag != VEIL_DER_INTEGER || veil_der_uint(value, &v) < 0 || v > (i == 17 ? 0xffff : 0xff))
                    return veil_err(-EBADMSG, "PCK certificate: TCB component %u is not a small INTEGER", i);
                if (i <= 16)
                    info->cpu_svn_components[i - 1] = (uint8_t)v;
                else
                    info->pce_svn = (uint16_t)v;
            } else {
                if (tag != VEIL_DER_OCTET_STRING) return veil_err(-EBADMSG, "PCK certificate: CPUSVN is not an OCTET STRING");
                r = octets(value, info->cpu_svn, 16, "CPUSVN");
                if (r < 0) return r;
            }
            seen |= 1u << i;
        }
    }
    if ((seen & 0x7fffe) != 0x7fffe) return veil_err(-EBADMSG, "PCK certificate: TCB extension lacks components");
    return 0;
}

int veil_pck_info_parse(X509 *pck, struct veil_pck_info *ret) {
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *obj = OBJ_txt2obj(OID_SGX, 1);
    if (!obj) return -ENOMEM;
    int idx = X509_get_ext_by_OBJ(pck, obj, -1);
    if (idx < 0) return veil_err(-EBADMSG, "PCK certificate has no SGX extension (%s)", OID_SGX);
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
    struct veil_cursor ext = veil_cursor_make(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os)), seq;
    int r = veil_der_expect(&ext, VEIL_DER_SEQUENCE, &seq);
    if (r < 0) return veil_err(r, "PCK certificate: SGX extension is not a SEQUENCE");
    struct veil_pck_info info;
    memset(&info, 0, sizeof(info));
    unsigned seen = 0;
    while (!veil_cursor_eof(&seq)) {
        uint8_t tag;
        struct veil_cursor value, oid;
        r = member(&seq, &tag, &value, &oid);
        if (r < 0) return veil_hw_err_prefix(r, "PCK certificate: malformed SGX extension member: ");
        if (oid_is(oid, ".1") && tag == VEIL_DER_OCTET_STRING)
            r = octets(value, info.ppid, 16, "PPID"), seen |= 1;
        else if (oid_is(oid, ".2") && tag == VEIL_DER_SEQUENCE)
            r = parse_tcb(value, &info), seen |= 2;
        else if (oid_is(oid, ".3") && tag == VEIL_DER_OCTET_STRING)
            r = octets(value, info.pce_id, 2, "PCE-ID"), seen |= 4;
        else if (oid_is(oid, ".4") && tag == VEIL_DER_OCTET_STRING)
            r = octets(value, info.fmspc, 6, "FMSPC"), seen |= 8;
        else if (oid_is(oid, ".5") && tag == VEIL_DER_ENUMERATED) {
            uint64_t v;
            r = veil_der_uint(value, &v);
            info.sgx_type = (uint32_t)v;
            seen |= 16;
        }
        if (r < 0) return r;
    }
    if ((seen & 0xf) != 0xf)
        return veil_err(-EBADMSG, "PCK certificate: SGX extension lacks %s", !(seen & 1) ? "PPID" : !(seen & 2) ? "TCB"
                                                                          : !(seen & 4) ? "PCE-ID" : "FMSPC");
    *ret = info;
    return 0;
}
