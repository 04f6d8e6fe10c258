/* SPDX-License-Identifier: Apache-2.0 */
/* The sim TEE: a software platform (root CA + attestation key) that signs evidence with the claims hardware carries. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/macro.h"
#include "evidence.h"

/*
 * sim proves NOTHING about memory protection or isolation: whoever can run
 * `veil attest --tee sim` (or read the platform directory) can sign any claims.
 * It exists so that every code path of attestation runs without hardware, and
 * verifiers accept it only under a policy that allows "sim" by name.
 *
 * The evidence layout (docs/evidence.md), all integers little-endian:
 *   0    8   magic "VEILSIM\0"
 *   8    2   version = 1
 *   10   2   flags: bit 0 debug (always set: sim is never production)
 *   12   4   tee = 1 (sim)
 *   16   4   product id
 *   20   4   security version
 *   24   8   timestamp (seconds since the epoch, informational)
 *   32   32  measurement (the veil measurement, chosen by the caller)
 *   64   32  signer id (chosen by the caller)
 *   96   64  report data
 *   160  32  platform id = SHA-256 of the attestation key's SubjectPublicKeyInfo
 *   192  2   signature size S, then S bytes: ECDSA P-384 / SHA-384 (DER) over bytes [0, 192)
 *   ...  2   certificate count N (1..4), then N times: u32 size, DER certificate;
 *            the first is the attestation key's certificate, the rest are informational
 *            (a verifier trusts only its pinned sim roots).
 */
#define VEIL_SIM_MAGIC "VEILSIM"
#define VEIL_SIM_VERSION 1
#define VEIL_SIM_BODY_SIZE 192
#define VEIL_SIM_FLAG_DEBUG 0x0001
#define VEIL_SIM_SIGNATURE_MAX 256
#define VEIL_SIM_CERTS_MAX 4
#define VEIL_SIM_CERT_MAX_SIZE (16 * 1024)
#define VEIL_SIM_ID_SIZE 32

struct veil_sim_evidence {
    uint16_t version;
    uint16_t flags;
    uint32_t product_id;
    uint32_t security_version;
    uint64_t timestamp;
    uint8_t measurement[VEIL_SIM_ID_SIZE];
    uint8_t signer[VEIL_SIM_ID_SIZE];
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
    uint8_t platform_id[VEIL_SIM_ID_SIZE];
    /* borrowed from the parsed buffer */
    const uint8_t *body;
    const uint8_t *signature;
    size_t signature_size;
    const uint8_t *certs[VEIL_SIM_CERTS_MAX];
    size_t cert_sizes[VEIL_SIM_CERTS_MAX];
    size_t cert_count;
};

/* Parse sim evidence (untrusted bytes; framing only, no signature check). */
int veil_sim_evidence_parse(const uint8_t *data, size_t size, struct veil_sim_evidence *ret) _warn_unused_;

/* A sim platform: the root certificate, and the attestation key with its certificate issued by the root. */
struct veil_sim_platform {
    X509 *root;
    EVP_PKEY *ak_key;
    X509 *ak_cert;
};

/* $VEIL_SIM_DIR, else $XDG_STATE_HOME/veil/sim, else ~/.local/state/veil/sim (malloc'd). */
int veil_sim_dir(char **ret) _warn_unused_;

/*
 * Load the platform in dir (NULL = veil_sim_dir()); with create, make it on first
 * use (a new root and attestation key, files root.pem, ak.pem, ak.key (0600),
 * created in a temporary directory then renamed, so concurrent first uses agree on one).
 */
int veil_sim_platform_open(const char *dir, bool create, struct veil_sim_platform **ret) _warn_unused_;
/* A fresh platform in memory only (tests, benchmarks). */
int veil_sim_platform_new(struct veil_sim_platform **ret) _warn_unused_;
void veil_sim_platform_free(struct veil_sim_platform *p);
VEIL_DEFINE_CLEANUP(struct veil_sim_platform *, veil_sim_platform_free, veil_sim_platform_freep)

struct veil_sim_claims {
    uint8_t measurement[VEIL_SIM_ID_SIZE];
    uint8_t signer[VEIL_SIM_ID_SIZE];
    uint32_t product_id;
    uint32_t security_version;
};

/* Sign sim evidence (the raw format above, not yet an envelope) and append it to out. */
int veil_sim_evidence_create(const struct veil_sim_platform *p, const struct veil_sim_claims *claims,
                             const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) _warn_unused_;

/* The same, wrapped in an evidence envelope (tee = sim). */
int veil_sim_get_evidence(const struct veil_sim_platform *p, const struct veil_sim_claims *claims,
                          const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) _warn_unused_;
