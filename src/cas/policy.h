/* SPDX-License-Identifier: Apache-2.0 */
/* The policy model of veil-cas: services, secrets, injection templates, images, volumes, owners. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"
#include "evidence/claims.h"

/* Named limits: a policy is untrusted input until an owner's identity is checked. */
#define VEIL_CAS_POLICY_MAX_SIZE (256u * 1024)
#define VEIL_CAS_POLICY_MAX_DEPTH 8
#define VEIL_CAS_POLICY_MAX_NODES 20000
#define VEIL_CAS_NAME_MAX 64
#define VEIL_CAS_MAX_OWNERS 32
#define VEIL_CAS_MAX_SERVICES 64
#define VEIL_CAS_MAX_SECRETS 256
#define VEIL_CAS_MAX_ITEMS 256          /* env entries, files, argv entries, DNS names, ... */
#define VEIL_CAS_MAX_MEASUREMENTS 32
#define VEIL_CAS_VALUE_MAX (64u * 1024) /* one scalar (file template, imported value) */
#define VEIL_CAS_RANDOM_MAX 4096
#define VEIL_CAS_PASSWORD_MIN 8
#define VEIL_CAS_PASSWORD_MAX 256
#define VEIL_CAS_VALID_DAYS_MAX 3650
#define VEIL_CAS_PATH_MAX 1024

enum veil_cas_secret_kind {
    VEIL_CAS_SECRET_RANDOM = 1, /* `size` random bytes */
    VEIL_CAS_SECRET_PASSWORD,   /* `length` characters from an unambiguous alphabet */
    VEIL_CAS_SECRET_IMPORTED,   /* a value the owner provides in the policy */
    VEIL_CAS_SECRET_PRIVATE_KEY,/* a private key of `algorithm` */
    VEIL_CAS_SECRET_X509_CA,    /* a self-signed CA certificate and its key */
    VEIL_CAS_SECRET_X509,       /* a leaf certificate issued by a policy CA (`issuer`) */
};

enum veil_cas_key_alg {
    VEIL_CAS_KEY_ECDSA_P256 = 1,
    VEIL_CAS_KEY_ECDSA_P384,
    VEIL_CAS_KEY_ED25519,
};

struct veil_cas_secret {
    char *name;
    enum veil_cas_secret_kind kind;
    uint32_t size;           /* random: bytes; password: characters */
    uint8_t *value;          /* imported: the value (owned, wiped on free) */
    size_t value_size;
    enum veil_cas_key_alg algorithm; /* private_key, x509_ca, x509 */
    char *common_name;       /* x509_ca, x509 */
    char **dns;              /* x509: subjectAltName DNS names */
    size_t dns_count;
    uint32_t valid_days;     /* x509_ca, x509 */
    char *issuer;            /* x509: name of an x509_ca secret */
    /* SHA-256 over the canonical definition: a secret is regenerated on update only when it changes */
    uint8_t definition_hash[VEIL_SHA256_SIZE];
};

/* A value with {{secret.NAME[.FIELD]}} placeholders, split at parse time so that a
 * workload start can never meet an unknown name. */
struct veil_cas_template_part {
    char *text;           /* literal text, or NULL for a reference */
    char *secret;         /* reference: secret name */
    char *field;          /* reference: field ("" = default) */
};
struct veil_cas_template {
    struct veil_cas_template_part *parts;
    size_t part_count;
};

struct veil_cas_env {
    char *name;
    struct veil_cas_template value;
};

struct veil_cas_file {
    char *path;  /* absolute, normalized: no "..", no "//" */
    uint32_t mode;
    struct veil_cas_template content;
};

struct veil_cas_service {
    char *name;
    uint8_t (*measurements)[VEIL_MEASUREMENT_MAX];
    size_t *measurement_sizes;
    size_t measurement_count;
    uint8_t signer[VEIL_MEASUREMENT_MAX];
    size_t signer_size;      /* 0: no signer rule */
    bool has_product_id;
    uint32_t product_id;
    uint32_t min_security_version;
    uint32_t tees;           /* bit (1 << enum veil_tee) for every accepted TEE */
    uint32_t tcb_statuses;   /* bit (1 << enum veil_tcb_status) for every tolerated status */
    bool debug;
    struct veil_cas_env *env;
    size_t env_count;
    struct veil_cas_template *argv;
    size_t argv_count;
    struct veil_cas_file *files;
    size_t file_count;
    char *image;             /* name in policy->images, or NULL */
    char **volumes;          /* names in policy->volumes */
    size_t volume_count;
};

/* An encrypted image or volume and the `random` secret (32 bytes) that is its key. */
struct veil_cas_keyed {
    char *name;
    char *key;
};

struct veil_cas_policy {
    char *name;
    uint8_t (*owners)[VEIL_SHA256_SIZE]; /* SHA-256 of an owner's SPKI DER or certificate DER */
    size_t owner_count;
    struct veil_cas_service *services;
    size_t service_count;
    struct veil_cas_secret *secrets;
    size_t secret_count;
    struct veil_cas_keyed *images;
    size_t image_count;
    struct veil_cas_keyed *volumes;
    size_t volume_count;
};

/*
 * Parse and check a policy. Everything that can be checked without generating
 * secrets is checked here: unknown keys, types, limits, template names and
 * fields, issuers, key references. On failure, veil_err() holds "line N: why".
 * Returns -EBADMSG for malformed or invalid policies.
 */
int veil_cas_policy_parse(const void *yaml, size_t size, struct veil_cas_policy **ret) _warn_unused_;
void veil_cas_policy_free(struct veil_cas_policy *p);
VEIL_DEFINE_CLEANUP(struct veil_cas_policy *, veil_cas_policy_free, veil_cas_policy_freep)

const struct veil_cas_service *veil_cas_policy_service(const struct veil_cas_policy *p, const char *name);
const struct veil_cas_secret *veil_cas_policy_secret(const struct veil_cas_policy *p, const char *name);
const struct veil_cas_keyed *veil_cas_policy_volume(const struct veil_cas_policy *p, const char *name);
const struct veil_cas_keyed *veil_cas_policy_image(const struct veil_cas_policy *p, const char *name);
bool veil_cas_policy_is_owner(const struct veil_cas_policy *p, const uint8_t id[VEIL_SHA256_SIZE]);

/*
 * Match verified claims against a service's rules. 0 when accepted; -EPERM
 * with a reason in veil_err() ("measurement not allowed: ...") when refused.
 */
int veil_cas_service_match(const struct veil_cas_service *s, const struct veil_claims *c) _warn_unused_;

/* Parse a template string ("a{{secret.x.cert}}b"); -EBADMSG on syntax errors. Names are
 * checked by the policy parser, not here. */
int veil_cas_template_parse(const char *text, struct veil_cas_template *ret) _warn_unused_;
void veil_cas_template_done(struct veil_cas_template *t);

/* The fields a secret kind offers to templates ("" is the default). */
bool veil_cas_secret_has_field(enum veil_cas_secret_kind kind, const char *field);
const char *veil_cas_secret_kind_name(enum veil_cas_secret_kind kind);
