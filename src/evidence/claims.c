/* SPDX-License-Identifier: Apache-2.0 */
/* Names, allocation and JSON form of claims. */
#include "claims.h"

#include <string.h>

#include "base/err.h"
#include "base/fileio.h"

static const char *const tee_names[] = {
    [VEIL_TEE_SIM] = "sim",
    [VEIL_TEE_SNP] = "snp",
    [VEIL_TEE_TDX] = "tdx",
    [VEIL_TEE_SGX] = "sgx",
    [VEIL_TEE_AZURE_SNP_VTPM] = "az-snp-vtpm",
};

static const char *const tcb_names[] = {
    [VEIL_TCB_UNKNOWN] = "Unknown",
    [VEIL_TCB_UP_TO_DATE] = "UpToDate",
    [VEIL_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [VEIL_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [VEIL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [VEIL_TCB_OUT_OF_DATE] = "OutOfDate",
    [VEIL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [VEIL_TCB_REVOKED] = "Revoked",
};

const char *veil_tee_name(enum veil_tee tee) {
    if ((size_t)tee < ELEMENTSOF(tee_names) && tee_names[tee]) return tee_names[tee];
    return "unknown";
}

int veil_tee_from_name(const char *name, enum veil_tee *ret) {
    for (size_t i = 0; i < ELEMENTSOF(tee_names); i++)
        if (tee_names[i] && !strcmp(tee_names[i], name)) {
            *ret = (enum veil_tee)i;
            return 0;
        }
    return veil_err(-EINVAL, "unknown TEE '%s'", name);
}

const char *veil_tcb_status_name(enum veil_tcb_status status) {
    if ((size_t)status < ELEMENTSOF(tcb_names)) return tcb_names[status];
    return "Unknown";
}

int veil_tcb_status_from_name(const char *name, enum veil_tcb_status *ret) {
    for (size_t i = 0; i < ELEMENTSOF(tcb_names); i++)
        if (!strcmp(tcb_names[i], name)) {
            *ret = (enum veil_tcb_status)i;
            return 0;
        }
    return veil_err(-EINVAL, "unknown TCB status '%s'", name);
}

int veil_claims_new(enum veil_tee tee, struct veil_claims **ret) {
    struct veil_claims *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->tee = tee;
    c->details = json_object();
    if (!c->details) {
        free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

void veil_claims_free(struct veil_claims *c) {
    if (!c) return;
    json_decref(c->details);
    free(c);
}

json_t *veil_claims_hex_json(const uint8_t *data, size_t size) {
    char hex[2 * 256 + 1];
    if (size > 256) return NULL;
    veil_hex_encode(data, size, hex);
    return json_string(hex);
}

json_t *veil_claims_to_json(const struct veil_claims *c) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "tee", json_string(veil_tee_name(c->tee)));
    json_object_set_new(o, "measurement", veil_claims_hex_json(c->measurement, c->measurement_size));
    json_object_set_new(o, "signer", veil_claims_hex_json(c->signer, c->signer_size));
    json_object_set_new(o, "product_id", json_integer(c->product_id));
    json_object_set_new(o, "security_version", json_integer(c->security_version));
    json_object_set_new(o, "debug", json_boolean(c->debug));
    json_object_set_new(o, "tcb_status", json_string(veil_tcb_status_name(c->tcb_status)));
    json_object_set_new(o, "report_data", veil_claims_hex_json(c->report_data, sizeof(c->report_data)));
    json_object_set_new(o, "details", json_deep_copy(c->details ? c->details : json_object()));
    return o;
}
