/* SPDX-License-Identifier: Apache-2.0 */
/* The evidence envelope codec and the dispatcher that routes evidence to its TEE's verifier. */
#include "evidence.h"

#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "collateral-verifiers.h"

int veil_evidence_decode(const uint8_t *data, size_t size, struct veil_evidence *ret) {
    if (size > VEIL_EVIDENCE_MAX_SIZE) return veil_err(-EBADMSG, "evidence larger than %zu bytes", VEIL_EVIDENCE_MAX_SIZE);
    struct veil_cursor c = veil_cursor_make(data, size);
    const uint8_t *magic;
    uint16_t version, tee;
    uint32_t reserved;
    if (veil_cursor_borrow(&c, VEIL_EVIDENCE_MAGIC_SIZE, &magic) < 0 ||
        memcmp(magic, VEIL_EVIDENCE_MAGIC, VEIL_EVIDENCE_MAGIC_SIZE) != 0)
        return veil_err(-EBADMSG, "not veil evidence (bad magic)");
    if (veil_cursor_u16le(&c, &version) < 0 || veil_cursor_u16le(&c, &tee) < 0 ||
        veil_cursor_u32le(&c, &reserved) < 0)
        return veil_err(-EBADMSG, "evidence header truncated");
    if (version != VEIL_EVIDENCE_VERSION) return veil_err(-EBADMSG, "evidence version %u is not supported", version);
    if (reserved != 0) return veil_err(-EBADMSG, "evidence header: reserved field not zero");
    if (tee < VEIL_TEE_SIM || tee > VEIL_TEE_AZURE_SNP_VTPM) return veil_err(-EBADMSG, "evidence names unknown TEE %u", tee);

    struct veil_evidence ev = { .tee = (enum veil_tee)tee };
    while (!veil_cursor_eof(&c)) {
        uint16_t type;
        uint32_t item_size;
        const uint8_t *value;
        if (veil_cursor_u16le(&c, &type) < 0 || veil_cursor_u32le(&c, &item_size) < 0)
            return veil_err(-EBADMSG, "evidence item header truncated");
        if (item_size > VEIL_EVIDENCE_ITEM_MAX_SIZE) return veil_err(-EBADMSG, "evidence item %u too large", type);
        if (veil_cursor_borrow(&c, item_size, &value) < 0) return veil_err(-EBADMSG, "evidence item %u truncated", type);
        if (type == 0 || type >= VEIL_EVIDENCE_ITEM_COUNT) {
            if (type & VEIL_EVIDENCE_ITEM_CRITICAL) return veil_err(-EBADMSG, "unknown critical evidence item 0x%04x", type);
            continue;
        }
        if (ev.item[type] || ev.item_size[type]) return veil_err(-EBADMSG, "evidence item %u appears twice", type);
        ev.item[type] = value;
        ev.item_size[type] = item_size;
    }
    if (!ev.item[VEIL_EVIDENCE_REPORT] || ev.item_size[VEIL_EVIDENCE_REPORT] == 0)
        return veil_err(-EBADMSG, "evidence carries no report");
    *ret = ev;
    return 0;
}

int veil_evidence_encode(const struct veil_evidence *ev, struct veil_buf *out) {
    if (ev->tee < VEIL_TEE_SIM || ev->tee > VEIL_TEE_AZURE_SNP_VTPM) return veil_err(-EINVAL, "unknown TEE");
    if (ev->item_size[VEIL_EVIDENCE_REPORT] == 0) return veil_err(-EINVAL, "evidence needs a report");
    size_t start = out->size;
    int r = veil_buf_append(out, VEIL_EVIDENCE_MAGIC, VEIL_EVIDENCE_MAGIC_SIZE);
    if (r >= 0) r = veil_buf_append_u16le(out, VEIL_EVIDENCE_VERSION);
    if (r >= 0) r = veil_buf_append_u16le(out, (uint16_t)ev->tee);
    if (r >= 0) r = veil_buf_append_u32le(out, 0);
    for (size_t t = 1; r >= 0 && t < VEIL_EVIDENCE_ITEM_COUNT; t++) {
        if (ev->item_size[t] == 0) continue;
        if (ev->item_size[t] > VEIL_EVIDENCE_ITEM_MAX_SIZE) r = veil_err(-E2BIG, "evidence item %zu too large", t);
        if (r >= 0) r = veil_buf_append_u16le(out, (uint16_t)t);
        if (r >= 0) r = veil_buf_append_u32le(out, (uint32_t)ev->item_size[t]);
        if (r >= 0) r = veil_buf_append(out, ev->item[t], ev->item_size[t]);
    }
    if (r >= 0 && out->size - start > VEIL_EVIDENCE_MAX_SIZE) r = veil_err(-E2BIG, "evidence too large");
    if (r < 0) out->size = start;
    return r;
}

int veil_evidence_verify(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                         struct veil_claims **ret_claims) {
    static const struct veil_verify_options defaults = { 0 };
    if (!opts) opts = &defaults;
    /* raw hardware evidence (an SNP report, a DCAP quote, Azure vTPM evidence): hwverify recognises its bytes */
    if (size < VEIL_EVIDENCE_MAGIC_SIZE || memcmp(data, VEIL_EVIDENCE_MAGIC, VEIL_EVIDENCE_MAGIC_SIZE) != 0)
        return veil_hw_verify_raw(data, size, opts, ret_claims);
    struct veil_evidence ev;
    int r = veil_evidence_decode(data, size, &ev);
    if (r < 0) return r;
    /* refuse before parsing: sim evidence is never to be taken for hardware evidence */
    if (ev.tee == VEIL_TEE_SIM && !opts->allow_sim)
        return veil_err(-EPERM, "sim evidence refused: the policy does not allow the sim TEE "
                                "(sim proves nothing about memory protection; allow it explicitly for development)");
    for (const struct veil_evidence_verifier *v = veil_evidence_verifiers; v->verify; v++) {
        if (v->tee != ev.tee) continue;
        _cleanup_(veil_claims_freep) struct veil_claims *claims = NULL;
        r = v->verify(&ev, opts, &claims);
        if (r < 0) return r;
        /* a verifier reports what it verified; the envelope's tag must agree with it */
        if (claims->tee != ev.tee) return veil_err(-EBADMSG, "evidence tagged %s verified as %s",
                                                   veil_tee_name(ev.tee), veil_tee_name(claims->tee));
        *ret_claims = TAKE_PTR(claims);
        return 0;
    }
    return veil_err(-EOPNOTSUPP, "no verifier for %s evidence in this build", veil_tee_name(ev.tee));
}

int veil_evidence_verify_policy(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                                const struct veil_policy *policy, struct veil_claims **ret_claims) {
    struct veil_verify_options o = opts ? *opts : (struct veil_verify_options){ 0 };
    o.allow_sim = !!(policy->allowed_tees & VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM));
    _cleanup_(veil_claims_freep) struct veil_claims *claims = NULL;
    int r = veil_evidence_verify(data, size, &o, &claims);
    if (r < 0) return r;
    r = veil_policy_check(policy, claims);
    *ret_claims = TAKE_PTR(claims);
    return r;
}
