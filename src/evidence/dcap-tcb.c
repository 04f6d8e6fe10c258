/* SPDX-License-Identifier: Apache-2.0 */
/* Matches a platform, its TDX module and its QE against Intel's TCB levels. */
#include "dcap-tcb.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "collateral-x509.h"

int veil_dcap_check_window(const json_t *body, time_t now, const char *what) {
    time_t issue, next;
    const char *issue_text = json_string_value(json_object_get(body, "issueDate"));
    const char *next_text = json_string_value(json_object_get(body, "nextUpdate"));
    if (!issue_text || !next_text || veil_time_parse(issue_text, &issue) < 0 || veil_time_parse(next_text, &next) < 0)
        return veil_err(-EBADMSG, "%s: issueDate/nextUpdate missing or malformed", what);
    char n[21];
    veil_time_format(now, n);
    if (now < issue)
        return veil_err(-EACCES, "%s not yet valid: issueDate %s is after the verification time %s", what, issue_text, n);
    if (now > next)
        return veil_err(-EACCES, "%s is stale: nextUpdate %s is before the verification time %s (fetch fresh collateral)",
                        what, next_text, n);
    return 0;
}

/* Decode a fixed-size hex string member (either case). */
static int hex_member(const json_t *o, const char *key, uint8_t *out, size_t size, const char *what) {
    const char *hex = json_string_value(json_object_get(o, key));
    if (!hex || strlen(hex) != 2 * size || veil_hex_decode(hex, out, size) < 0)
        return veil_err(-EBADMSG, "%s: \"%s\" is not %zu bytes of hex", what, key, size);
    return 0;
}

static int status_of(const json_t *level, const char *what, enum veil_tcb_status *ret) {
    const char *s = json_string_value(json_object_get(level, "tcbStatus"));
    if (!s) return veil_err(-EBADMSG, "%s: TCB level without tcbStatus", what);
    int r = veil_tcb_status_from_name(s, ret);
    if (r < 0) return veil_err(-EBADMSG, "%s: unknown tcbStatus '%s'", what, s);
    return 0;
}

static void add_advisories(json_t *advisories, const json_t *level) {
    const json_t *ids = json_object_get(level, "advisoryIDs");
    size_t i;
    json_t *id;
    if (!advisories || !json_is_array(ids)) return;
    json_array_foreach(ids, i, id) {
        if (!json_is_string(id)) continue;
        bool dup = false;
        size_t j;
        json_t *have;
        json_array_foreach(advisories, j, have) if (json_equal(have, id)) dup = true;
        if (!dup) json_array_append(advisories, id);
    }
}

/* SVN i (0..15) of a level's SGX or TDX components: v3 arrays, v2 "sgxtcbcompNNsvn". */
static int component_svn(const json_t *tcb, const char *array, int i, long long *ret) {
    const json_t *a = json_object_get(tcb, array);
    if (json_is_array(a)) {
        if (json_array_size(a) != 16) return -EBADMSG;
        const json_t *svn = json_object_get(json_array_get(a, (size_t)i), "svn");
        if (!json_is_integer(svn)) return -EBADMSG;
        *ret = json_integer_value(svn);
        return 0;
    }
    if (strcmp(array, "sgxtcbcomponents")) return -EBADMSG;
    char key[32];
    snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", i + 1);
    const json_t *svn = json_object_get(tcb, key);
    if (!json_is_integer(svn)) return -EBADMSG;
    *ret = json_integer_value(svn);
    return 0;
}

static int module_status(const json_t *tcb_info, const struct veil_tdx_report_body *td, enum veil_tcb_status *ret,
                         json_t *advisories, json_t *details) {
    const json_t *identity = NULL;
    char id[16];
    if (td->tee_tcb_svn[1] > 0) {
        snprintf(id, sizeof(id), "TDX_%02X", td->tee_tcb_svn[1]);
        size_t i;
        const json_t *m;
        json_array_foreach(json_object_get(tcb_info, "tdxModuleIdentities"), i, m) {
            const char *mid = json_string_value(json_object_get(m, "id"));
            if (mid && !strcasecmp(mid, id)) identity = m;
        }
        if (!identity)
            return veil_err(-EACCES, "TCB info has no tdxModuleIdentities entry '%s' for the TDX module (TEE_TCB_SVN[1] = %u)", id,
                            td->tee_tcb_svn[1]);
    } else {
        snprintf(id, sizeof(id), "tdxModule");
        identity = json_object_get(tcb_info, "tdxModule");
        if (!identity) return veil_err(-EBADMSG, "TDX TCB info has no tdxModule");
    }
    uint8_t mrsigner[48], attributes[8], mask[8];
    int r = hex_member(identity, "mrsigner", mrsigner, 48, id);
    if (r >= 0) r = hex_member(identity, "attributes", attributes, 8, id);
    if (r >= 0) r = hex_member(identity, "attributesMask", mask, 8, id);
    if (r < 0) return r;
    if (memcmp(mrsigner, td->mr_signer_seam, 48) != 0)
        return veil_err(-EACCES, "TDX module: MRSIGNERSEAM does not match %s.mrsigner of the TCB info", id);
    for (int i = 0; i < 8; i++)
        if ((td->seam_attributes[i] & mask[i]) != (attributes[i] & mask[i]))
            return veil_err(-EACCES, "TDX module: masked SEAMATTRIBUTES do not match %s.attributes of the TCB info", id);
    json_object_set_new(details, "tdx_module_identity", json_string(id));
    if (td->tee_tcb_svn[1] == 0) {
        *ret = VEIL_TCB_UP_TO_DATE; /* TDX 1.0 modules are judged by the platform level */
        return 0;
    }
    size_t i;
    const json_t *level;
    json_array_foreach(json_object_get(identity, "tcbLevels"), i, level) {
        const json_t *isvsvn = json_object_get(json_object_get(level, "tcb"), "isvsvn");
        if (!json_is_integer(isvsvn)) return veil_err(-EBADMSG, "%s: TCB level without isvsvn", id);
        if (json_integer_value(isvsvn) <= td->tee_tcb_svn[0]) {
            r = status_of(level, id, ret);
            if (r < 0) return r;
            add_advisories(advisories, level);
            return 0;
        }
    }
    return veil_err(-EACCES, "TDX module %s: TEE_TCB_SVN[0] = %u is below every TCB level of the TCB info", id,
                    td->tee_tcb_svn[0]);
}

int veil_dcap_tcb_status(const json_t *tcb_info, const struct veil_pck_info *pck, const struct veil_tdx_report_body *td,
                         enum veil_tcb_status *ret_status, json_t *advisories, json_t *details) {
    const json_t *levels = json_object_get(tcb_info, "tcbLevels");
    if (!json_is_array(levels) || json_array_size(levels) == 0) return veil_err(-EBADMSG, "TCB info has no tcbLevels");
    unsigned tdx_start = td && td->tee_tcb_svn[1] > 0 ? 2 : 0;
    size_t i;
    const json_t *level;
    json_array_foreach(levels, i, level) {
        const json_t *tcb = json_object_get(level, "tcb");
        const json_t *pcesvn = json_object_get(tcb, "pcesvn");
        if (!json_is_integer(pcesvn)) return veil_err(-EBADMSG, "TCB info: level %zu has no pcesvn", i);
        bool match = pck->pce_svn >= json_integer_value(pcesvn);
        for (int k = 0; k < 16 && match; k++) {
            long long svn;
            if (component_svn(tcb, "sgxtcbcomponents", k, &svn) < 0)
                return veil_err(-EBADMSG, "TCB info: level %zu has malformed sgxtcbcomponents", i);
            match = pck->cpu_svn_components[k] >= svn;
        }
        for (int k = (int)tdx_start; td && k < 16 && match; k++) {
            long long svn;
            if (component_svn(tcb, "tdxtcbcomponents", k, &svn) < 0)
                return veil_err(-EBADMSG, "TCB info: level %zu has malformed tdxtcbcomponents", i);
            match = td->tee_tcb_svn[k] >= svn;
        }
        if (!match) continue;
        enum veil_tcb_status status;
        int r = status_of(level, "TCB info", &status);
        if (r < 0) return r;
        add_advisories(advisories, level);
        json_object_set_new(details, "tcb_date", json_deep_copy(json_object_get(level, "tcbDate")));
        json_object_set_new(details, "platform_tcb_status", json_string(veil_tcb_status_name(status)));
        if (td) {
            enum veil_tcb_status module;
            r = module_status(tcb_info, td, &module, advisories, details);
            if (r < 0) return r;
            json_object_set_new(details, "tdx_module_tcb_status", json_string(veil_tcb_status_name(module)));
            status = veil_dcap_tcb_converge(status, module);
        }
        *ret_status = status;
        return 0;
    }
    /* Intel's QVL calls this "TCB not supported": no level vouches for the platform. The
     * status is Unknown, which a policy refuses unless it lists Unknown explicitly. */
    char hex[33], reason[192];
    veil_hex_encode(pck->cpu_svn_components, 16, hex);
    snprintf(reason, sizeof(reason), "the platform's TCB (PCK CPUSVN components %s, PCESVN %u%s) is below every TCB level "
             "of the TCB info", hex, pck->pce_svn, td ? ", and TEE_TCB_SVN" : "");
    json_object_set_new(details, "platform_tcb_status", json_string("Unknown"));
    json_object_set_new(details, "tcb_status_reason", json_string(reason));
    *ret_status = VEIL_TCB_UNKNOWN;
    return 0;
}

int veil_dcap_qe_status(const json_t *qe_identity, const struct veil_sgx_report_body *qe,
                        enum veil_tcb_status *ret_status, json_t *advisories) {
    uint8_t mrsigner[32], misc[4], misc_mask[4], attributes[16], attr_mask[16];
    int r = hex_member(qe_identity, "mrsigner", mrsigner, 32, "QE identity");
    if (r >= 0) r = hex_member(qe_identity, "miscselect", misc, 4, "QE identity");
    if (r >= 0) r = hex_member(qe_identity, "miscselectMask", misc_mask, 4, "QE identity");
    if (r >= 0) r = hex_member(qe_identity, "attributes", attributes, 16, "QE identity");
    if (r >= 0) r = hex_member(qe_identity, "attributesMask", attr_mask, 16, "QE identity");
    if (r < 0) return r;
    const json_t *prod = json_object_get(qe_identity, "isvprodid");
    if (!json_is_integer(prod)) return veil_err(-EBADMSG, "QE identity: no isvprodid");
    if (memcmp(mrsigner, qe->mr_signer, 32) != 0) {
        char got[65], want[65];
        veil_hex_encode(qe->mr_signer, 32, got);
        veil_hex_encode(mrsigner, 32, want);
        return veil_err(-EACCES, "QE report: MRSIGNER %s does not match the QE identity's %s", got, want);
    }
    if (json_integer_value(prod) != qe->isv_prod_id)
        return veil_err(-EACCES, "QE report: ISVPRODID %u does not match the QE identity's %lld", qe->isv_prod_id,
                        json_integer_value(prod));
    /* MISCSELECT is a little-endian u32 in the report; the JSON gives it as big-endian hex. */
    uint32_t want_misc = veil_load_u32be(misc), mask = veil_load_u32be(misc_mask);
    if ((qe->misc_select & mask) != (want_misc & mask))
        return veil_err(-EACCES, "QE report: masked MISCSELECT 0x%08x does not match the QE identity's 0x%08x",
                        qe->misc_select & mask, want_misc & mask);
    for (int i = 0; i < 16; i++)
        if ((qe->attributes[i] & attr_mask[i]) != (attributes[i] & attr_mask[i]))
            return veil_err(-EACCES, "QE report: masked ATTRIBUTES byte %d does not match the QE identity", i);
    size_t i;
    const json_t *level;
    json_array_foreach(json_object_get(qe_identity, "tcbLevels"), i, level) {
        const json_t *isvsvn = json_object_get(json_object_get(level, "tcb"), "isvsvn");
        if (!json_is_integer(isvsvn)) return veil_err(-EBADMSG, "QE identity: TCB level without isvsvn");
        if (json_integer_value(isvsvn) <= qe->isv_svn) {
            r = status_of(level, "QE identity", ret_status);
            if (r < 0) return r;
            add_advisories(advisories, level);
            return 0;
        }
    }
    return veil_err(-EACCES, "QE report: ISVSVN %u is below every TCB level of the QE identity", qe->isv_svn);
}

enum veil_tcb_status veil_dcap_tcb_converge(enum veil_tcb_status platform, enum veil_tcb_status other) {
    if (other == VEIL_TCB_REVOKED) return VEIL_TCB_REVOKED;
    if (other != VEIL_TCB_OUT_OF_DATE) return platform;
    switch (platform) {
    case VEIL_TCB_UP_TO_DATE:
    case VEIL_TCB_SW_HARDENING_NEEDED: return VEIL_TCB_OUT_OF_DATE;
    case VEIL_TCB_CONFIGURATION_NEEDED:
    case VEIL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED: return VEIL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    default: return platform;
    }
}
