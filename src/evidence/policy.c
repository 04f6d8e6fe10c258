/* SPDX-License-Identifier: Apache-2.0 */
/* Relying-party policy: the JSON file format and the check of verified claims against it. */
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/random.h"
#include "evidence.h"

#define POLICY_MAX_FILE_SIZE (256 * 1024)
#define POLICY_FORMAT_VERSION 1

void veil_policy_init(struct veil_policy *p) {
    *p = (struct veil_policy){
        .allowed_tees = VEIL_POLICY_TEE_BIT(VEIL_TEE_SNP) | VEIL_POLICY_TEE_BIT(VEIL_TEE_TDX) |
                        VEIL_POLICY_TEE_BIT(VEIL_TEE_SGX) | VEIL_POLICY_TEE_BIT(VEIL_TEE_AZURE_SNP_VTPM),
        .accepted_tcb_statuses = 1u << VEIL_TCB_UP_TO_DATE | 1u << VEIL_TCB_SW_HARDENING_NEEDED |
                                 1u << VEIL_TCB_CONFIGURATION_NEEDED |
                                 1u << VEIL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    };
}

static bool value_listed(const struct veil_policy_value *list, size_t count, const uint8_t *data, size_t size) {
    for (size_t i = 0; i < count; i++)
        if (list[i].size == size && veil_memeq_ct(list[i].data, data, size)) return true;
    return false;
}

int veil_policy_check(const struct veil_policy *p, const struct veil_claims *c) {
    char hex[2 * VEIL_MEASUREMENT_MAX + 1];
    if (!(p->allowed_tees & VEIL_POLICY_TEE_BIT(c->tee))) {
        if (c->tee == VEIL_TEE_SIM)
            return veil_err(-EPERM, "policy: TEE 'sim' is not allowed (sim evidence proves nothing about memory "
                                    "protection; a policy must allow it explicitly)");
        return veil_err(-EPERM, "policy: TEE '%s' is not allowed", veil_tee_name(c->tee));
    }
    if (p->measurements_count > 0 && !value_listed(p->measurements, p->measurements_count, c->measurement, c->measurement_size)) {
        veil_hex_encode(c->measurement, MIN(c->measurement_size, (size_t)VEIL_MEASUREMENT_MAX), hex);
        return veil_err(-EPERM, "policy: measurement %s is not in the allowed list", hex);
    }
    if (p->signers_count > 0 && !value_listed(p->signers, p->signers_count, c->signer, c->signer_size)) {
        veil_hex_encode(c->signer, MIN(c->signer_size, (size_t)VEIL_MEASUREMENT_MAX), hex);
        return veil_err(-EPERM, "policy: signer %s is not in the allowed list", hex[0] ? hex : "(none)");
    }
    if (p->check_product_id && c->product_id != p->product_id)
        return veil_err(-EPERM, "policy: product id %u is not the required %u", c->product_id, p->product_id);
    if (c->security_version < p->min_security_version)
        return veil_err(-EPERM, "policy: security version %u is lower than the minimum %u", c->security_version,
                        p->min_security_version);
    /* sim is debug by construction; a policy that allows sim has accepted that */
    if (c->debug && !p->debug_allowed && c->tee != VEIL_TEE_SIM)
        return veil_err(-EPERM, "policy: debug mode is not allowed");
    if (c->tee != VEIL_TEE_SIM && !(p->accepted_tcb_statuses & (1u << c->tcb_status)))
        return veil_err(-EPERM, "policy: TCB status %s is not accepted", veil_tcb_status_name(c->tcb_status));
    if (p->check_report_data && !veil_memeq_ct(p->report_data, c->report_data, VEIL_REPORT_DATA_SIZE))
        return veil_err(-EPERM, "policy: report data does not match the expected value");
    return 0;
}

/* ---- the JSON file format (docs/evidence.md) ---- */

static int parse_hex_value(const char *key, json_t *v, struct veil_policy_value *ret) {
    const char *s = json_string_value(v);
    if (!s) return veil_err(-EBADMSG, "policy: %s entries must be hex strings", key);
    size_t len = strlen(s);
    if (len == 0 || len % 2 || len / 2 > VEIL_MEASUREMENT_MAX)
        return veil_err(-EBADMSG, "policy: %s entry '%.20s' is not 1..%d bytes of hex", key, s, VEIL_MEASUREMENT_MAX);
    if (veil_hex_decode(s, ret->data, len / 2) < 0) return veil_err(-EBADMSG, "policy: %s entry is not hex", key);
    ret->size = len / 2;
    return 0;
}

static int parse_hex_list(const char *key, json_t *v, struct veil_policy_value *list, size_t *count) {
    if (!json_is_array(v)) return veil_err(-EBADMSG, "policy: '%s' must be an array", key);
    if (json_array_size(v) > VEIL_POLICY_MAX_VALUES)
        return veil_err(-EBADMSG, "policy: more than %d %s", VEIL_POLICY_MAX_VALUES, key);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        int r = parse_hex_value(key, e, &list[i]);
        if (r < 0) return r;
    }
    *count = json_array_size(v);
    return 0;
}

static int parse_u32(const char *key, json_t *v, uint32_t *ret) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
        return veil_err(-EBADMSG, "policy: '%s' must be an integer 0..4294967295", key);
    *ret = (uint32_t)json_integer_value(v);
    return 0;
}

static int parse_name_set(const char *key, json_t *v, int (*from_name)(const char *, void *), uint32_t *ret) {
    if (!json_is_array(v)) return veil_err(-EBADMSG, "policy: '%s' must be an array of names", key);
    uint32_t set = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        unsigned value;
        if (!json_is_string(e)) return veil_err(-EBADMSG, "policy: '%s' must be an array of names", key);
        int r = from_name(json_string_value(e), &value);
        if (r < 0) return veil_err(-EBADMSG, "policy: unknown name '%s' in '%s'", json_string_value(e), key);
        set |= 1u << value;
    }
    *ret = set;
    return 0;
}

static int tee_from_name(const char *name, void *ret) {
    enum veil_tee tee;
    int r = veil_tee_from_name(name, &tee);
    if (r >= 0) *(unsigned *)ret = (unsigned)tee;
    return r;
}

static int tcb_from_name(const char *name, void *ret) {
    enum veil_tcb_status s;
    int r = veil_tcb_status_from_name(name, &s);
    if (r >= 0) *(unsigned *)ret = (unsigned)s;
    return r;
}

int veil_policy_parse_json(const char *text, size_t size, struct veil_policy *ret) {
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return veil_err(-EBADMSG, "policy: invalid JSON at line %d: %s", jerr.line, jerr.text);
    struct veil_policy p;
    veil_policy_init(&p);
    int r = 0;
    if (!json_is_object(root)) r = veil_err(-EBADMSG, "policy: the top level must be an object");
    json_t *version = json_object_get(root, "version");
    if (r >= 0 && (!json_is_integer(version) || json_integer_value(version) != POLICY_FORMAT_VERSION))
        r = veil_err(-EBADMSG, "policy: \"version\": %d is required", POLICY_FORMAT_VERSION);
    const char *key;
    json_t *v;
    if (r >= 0) json_object_foreach(root, key, v) {
        if (!strcmp(key, "version")) continue;
        else if (!strcmp(key, "tees")) r = parse_name_set(key, v, tee_from_name, &p.allowed_tees);
        else if (!strcmp(key, "measurements")) r = parse_hex_list(key, v, p.measurements, &p.measurements_count);
        else if (!strcmp(key, "signers")) r = parse_hex_list(key, v, p.signers, &p.signers_count);
        else if (!strcmp(key, "product_id")) {
            r = parse_u32(key, v, &p.product_id);
            p.check_product_id = true;
        } else if (!strcmp(key, "min_security_version")) r = parse_u32(key, v, &p.min_security_version);
        else if (!strcmp(key, "debug")) {
            if (!json_is_boolean(v)) r = veil_err(-EBADMSG, "policy: 'debug' must be true or false");
            p.debug_allowed = json_is_true(v);
        } else if (!strcmp(key, "tcb_statuses")) r = parse_name_set(key, v, tcb_from_name, &p.accepted_tcb_statuses);
        else if (!strcmp(key, "report_data")) {
            const char *s = json_string_value(v);
            if (!s || strlen(s) != 2 * VEIL_REPORT_DATA_SIZE || veil_hex_decode(s, p.report_data, VEIL_REPORT_DATA_SIZE) < 0)
                r = veil_err(-EBADMSG, "policy: 'report_data' must be %d bytes of hex", VEIL_REPORT_DATA_SIZE);
            p.check_report_data = true;
        } else
            r = veil_err(-EBADMSG, "policy: unknown key '%s'", key);
        if (r < 0) break;
    }
    json_decref(root);
    if (r < 0) return r;
    *ret = p;
    return 0;
}

int veil_policy_load(const char *path, struct veil_policy *ret) {
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(path, POLICY_MAX_FILE_SIZE, &data, &size);
    if (r < 0) return veil_err(r, "cannot read policy %s", path);
    return veil_policy_parse_json((const char *)data, size, ret);
}
