/* SPDX-License-Identifier: Apache-2.0 */
/* Request bodies of the veil-cas HTTP API (docs/cas-api.yaml): strict JSON parsers for untrusted bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "store.h"

#define VEIL_CAS_BODY_MAX (512u * 1024)
#define VEIL_CAS_VOLUME_REPORTS_MAX 64

/* POST /v1/policies: {"policy": "<YAML text>", "replaces": "<hex SHA-256>" | null} */
struct veil_cas_apply_request {
    char *policy;
    size_t policy_size;
    bool has_replaces;
    uint8_t replaces[32];
};

/* POST /v1/attest: {"policy": NAME, "service": NAME, "volumes": {NAME: VERSION, ...}} */
struct veil_cas_attest_request {
    char *policy;
    char *service;
    struct veil_cas_volume_report volumes[VEIL_CAS_VOLUME_REPORTS_MAX];
    size_t volume_count;
};

/* POST /v1/volumes: {"policy": NAME, "service": NAME, "volume": NAME, "version": N}
 * POST /v1/policies/NAME/volumes/VOLUME/accept: {"version": N} (the names come from the path) */
struct veil_cas_volume_request {
    char *policy;
    char *service;
    char *volume;
    int64_t version;
};

/* Each returns -EBADMSG with a veil_err() detail for anything but exactly the documented shape. */
int veil_cas_api_parse_apply(const uint8_t *body, size_t size, struct veil_cas_apply_request *ret) _warn_unused_;
int veil_cas_api_parse_attest(const uint8_t *body, size_t size, struct veil_cas_attest_request *ret) _warn_unused_;
int veil_cas_api_parse_volume(const uint8_t *body, size_t size, struct veil_cas_volume_request *ret) _warn_unused_;
int veil_cas_api_parse_accept(const uint8_t *body, size_t size, int64_t *ret_version) _warn_unused_;
void veil_cas_apply_request_done(struct veil_cas_apply_request *r);
void veil_cas_attest_request_done(struct veil_cas_attest_request *r);
void veil_cas_volume_request_done(struct veil_cas_volume_request *r);

/* A policy, service, secret or volume name: 1-64 of [A-Za-z0-9_-]. */
bool veil_cas_name_valid(const char *s);
