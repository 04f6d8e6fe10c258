/* SPDX-License-Identifier: Apache-2.0 */
/* The workload's side of the veil-cas protocol (docs/attestation-flow.md): attest over RA-TLS, receive configuration, report volumes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "base/secbuf.h"
#include "evidence/evidence.h"

/*
 * Where the service is and how it is recognised. Parsed from the manifest's
 * attestation address and policy strings (docs/attestation-flow.md, "What the
 * manifest carries"):
 *
 *   address  "HOST:PORT key=sha256:HEX"          pin the service's TLS key (development)
 *            "HOST:PORT measurement=HEX[,HEX…]"  verify its RA-TLS certificate
 *   policy   "POLICY/SERVICE"
 *
 * HOST is a numeric IPv4 or IPv6 address (bracketed) or "localhost": veil-run is
 * static and does no name resolution (docs/attestation-flow.md, "Not done").
 * Exactly one of the two identities; a service that is not verified gets nothing.
 */
#define VEIL_CASCLIENT_MAX_PINS 8
#define VEIL_CASCLIENT_NAME_MAX 64

struct veil_casclient_target {
    char host[64];
    uint16_t port;
    bool pin_key;                                  /* else RA-TLS with measurements */
    uint8_t key_id[32];                            /* SHA-256 of the service's SubjectPublicKeyInfo DER */
    uint8_t measurements[VEIL_CASCLIENT_MAX_PINS][32];
    size_t measurement_count;
    char policy[VEIL_CASCLIENT_NAME_MAX + 1];
    char service[VEIL_CASCLIENT_NAME_MAX + 1];
};

int veil_casclient_target_parse(const char *address, const char *policy,
                                struct veil_casclient_target *ret) _warn_unused_;

/* ---- the configuration the service returns (POST /v1/attest, 200) ---- */

#define VEIL_CASCLIENT_RESPONSE_MAX ((size_t)1 << 20) /* the service caps bodies at 512 KiB */
#define VEIL_CASCLIENT_LIST_MAX 256                   /* env, argv, files, volumes (policies.md limits) */
#define VEIL_CASCLIENT_VALUE_MAX ((size_t)64 << 10)   /* one env value, argument or file */
#define VEIL_CASCLIENT_KEY_SIZE 32

struct veil_casclient_file {
    char *path;                    /* absolute, clean (checked) */
    uint32_t mode;                 /* permission bits only */
    struct veil_secbuf *content;
};

struct veil_casclient_volume {
    char *name;
    struct veil_secbuf *key;       /* 32 bytes, NULL when the reply named only its version */
    uint64_t version;              /* the version the service now stores */
};

/* Everything secret lives in secbufs; the strings env/argv are in one secbuf each too. */
struct veil_casclient_config {
    struct veil_secbuf **env;      /* "NAME=value\0" each */
    size_t env_count;
    struct veil_secbuf **argv;     /* "value\0" each */
    size_t argv_count;
    struct veil_casclient_file *files;
    size_t file_count;
    struct veil_secbuf *image_key; /* NULL when the service has no image */
    struct veil_casclient_volume *volumes;
    size_t volume_count;
    uint64_t policy_version;
};

/* Parse a 200 reply (untrusted bytes, size-capped; fuzz/fuzz-casclient.c). */
int veil_casclient_config_parse(const uint8_t *data, size_t size, struct veil_casclient_config **ret) _warn_unused_;
void veil_casclient_config_free(struct veil_casclient_config *c);
VEIL_DEFINE_CLEANUP(struct veil_casclient_config *, veil_casclient_config_free, veil_casclient_config_freep)
const struct veil_casclient_volume *veil_casclient_config_volume(const struct veil_casclient_config *c,
                                                                 const char *name);

/* Make jansson wipe what it frees (programs that parse secrets call it once, before any parsing). */
void veil_casclient_use_wiping_allocator(void);

/* The "reason" (else "error") of an error reply, copied into buf; "" when there is none. */
void veil_casclient_error_reason(const uint8_t *data, size_t size, char *buf, size_t buf_size);

/* ---- a session: our RA-TLS identity and the service's expected one ---- */

struct veil_casclient_identity {
    uint8_t measurement[32];       /* veil-run's measurement */
    uint8_t signer[32];            /* the manifest's signer id */
    uint32_t product_id, security_version;
};

struct veil_casclient;

/*
 * Make a fresh key and RA-TLS certificate for identity with evidence from the
 * TEE attest selects (sim with a platform directory in development, hardware
 * through configfs-tsm otherwise), and a TLS 1.3 context that presents it and
 * checks the service as target says. With sim, a service that presents sim
 * RA-TLS evidence is accepted from the same platform's root.
 */
int veil_casclient_new(const struct veil_casclient_target *target, const struct veil_attest_options *attest,
                       const struct veil_casclient_identity *id, struct veil_casclient **ret) _warn_unused_;
void veil_casclient_free(struct veil_casclient *c);
VEIL_DEFINE_CLEANUP(struct veil_casclient *, veil_casclient_free, veil_casclient_freep)

struct veil_casclient_report {
    const char *name;
    uint64_t version;
};

/*
 * POST /v1/attest with the volumes' versions found on disk. On 200 the parsed
 * configuration; a refusal (403/404/409) is -EPERM with the service's reason as
 * the veil_err() detail; a failed connection or an unverified service -EACCES/-EIO.
 */
int veil_casclient_attest(struct veil_casclient *c, const struct veil_casclient_report *volumes, size_t volume_count,
                          struct veil_casclient_config **ret) _warn_unused_;

/* POST /v1/volumes: the version a volume has now. 0 once the service acknowledged it (durably). */
int veil_casclient_report_volume(struct veil_casclient *c, const char *volume, uint64_t version) _warn_unused_;
