/* SPDX-License-Identifier: Apache-2.0 */
/* Offline collateral for the hardware verifiers: certificates, CRLs and Intel's signed JSON, recognised by content. */
#pragma once

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/macro.h"
#include "snp-report.h"

/* One file of collateral is at most this large (a PCS PCK CRL is about 10 KiB). */
#define VEIL_COLLATERAL_FILE_MAX_SIZE ((size_t)4 << 20)
/* At most this many signed JSON documents of each kind. */
#define VEIL_COLLATERAL_JSON_MAX 64

enum veil_signed_json_kind {
    VEIL_SIGNED_TCB_INFO,    /* Intel PCS "tcbInfo" (SGX or TDX, per FMSPC) */
    VEIL_SIGNED_QE_IDENTITY, /* Intel PCS "enclaveIdentity" (QE or TD_QE) */
};

/*
 * An Intel PCS document: `body` holds exactly the bytes the signature covers
 * (the text of the "tcbInfo"/"enclaveIdentity" value as served), `signature`
 * the raw ECDSA P-256 r||s, `json` the parsed body. Nothing in it is trusted
 * until the DCAP verifier has checked the signature and its chain.
 */
struct veil_signed_json {
    enum veil_signed_json_kind kind;
    char *body;
    size_t body_size;
    uint8_t signature[64];
    json_t *json;
    char origin[64]; /* file name or description, for messages */
};

struct veil_collateral {
    STACK_OF(X509) *certs;
    STACK_OF(X509_CRL) *crls;
    struct veil_signed_json items[2 * VEIL_COLLATERAL_JSON_MAX];
    size_t items_count;
};

int veil_collateral_new(struct veil_collateral **ret) _warn_unused_;
void veil_collateral_free(struct veil_collateral *c);
VEIL_DEFINE_CLEANUP(struct veil_collateral *, veil_collateral_free, veil_collateral_freep)

/*
 * Add one blob, recognised by its content: PEM (certificates and/or CRLs), a DER
 * certificate or CRL, a hex-encoded DER CRL, an Intel PCS TCB info or QE identity
 * response ({"tcbInfo":…,"signature":…}), or a combined collateral JSON of the
 * dcap-qvl / PCCS style (tcb_info, qe_identity, pck_crl, root_ca_crl, issuer chains).
 * -EBADMSG (naming `origin`) when it is none of these or does not parse.
 */
int veil_collateral_add(struct veil_collateral *c, const uint8_t *data, size_t size, const char *origin) _warn_unused_;
/* Add every regular file of dir; files that look like none of the formats above are skipped. */
int veil_collateral_load_dir(struct veil_collateral *c, const char *dir) _warn_unused_;
/* Add one file. */
int veil_collateral_load_file(struct veil_collateral *c, const char *path) _warn_unused_;

/* An AMD root key (ARK) trusted for one product because a trust directory holds it. */
struct veil_amd_root {
    X509 *ark;
    enum veil_snp_product product; /* from the file name, never from the certificate */
    char origin[64];               /* the file name, for messages and claims */
};

/*
 * How the hardware verifiers judge what verified. Zero-initialise, then set:
 * now            verification time (certificate, CRL and TCB info windows); 0 = time(NULL)
 * accepted_tcb   bit mask of (1u << enum veil_tcb_status); 0 = UpToDate only
 * allowed_advisories  NULL-terminated advisory ids (e.g. "INTEL-SA-00615") that may be
 *                present; "*" allows any; NULL allows none
 * allow_debug    accept debug TEEs (SNP policy DEBUG, TD/enclave DEBUG attribute)
 * allow_incomplete_collateral  accept a DCAP quote whose QE identity or CRLs are missing
 *                from the collateral (recorded in details.collateral_missing); for
 *                vectors whose published collateral is incomplete, never for production
 * report_data    when set, the evidence's report data must begin with these
 *                report_data_size bytes (a nonce or key digest the caller expects);
 *                -EACCES naming both values otherwise
 * extra_intel_roots  roots trusted besides the pinned Intel SGX Root CA (tests that
 *                build their own hierarchy; a private PCCS mirror never needs this)
 * extra_amd_roots    ARKs trusted besides the pinned AMD ARKs, each for the one product
 *                its trust-directory file names (ask_ark_<product>.pem)
 */
struct veil_hw_options {
    time_t now;
    uint32_t accepted_tcb;
    const char *const *allowed_advisories;
    bool allow_debug;
    bool allow_incomplete_collateral;
    const uint8_t *report_data;
    size_t report_data_size;
    X509 *const *extra_intel_roots;
    size_t extra_intel_roots_count;
    const struct veil_amd_root *extra_amd_roots;
    size_t extra_amd_roots_count;
};

/* Prefix the current detail message (veil_err cannot format its own buffer into itself). */
int veil_hw_err_prefix(int err, const char *prefix);

/* The report_data check described above; `what` names the evidence. */
int veil_hw_check_report_data(const struct veil_hw_options *opts, const uint8_t report_data[64], const char *what) _warn_unused_;

/* The mask used when accepted_tcb is 0. */
#define VEIL_TCB_ACCEPT_DEFAULT (1u << 1) /* VEIL_TCB_UP_TO_DATE */

/* Parse "UpToDate,OutOfDate,..." into a mask for accepted_tcb. */
int veil_tcb_mask_parse(const char *list, uint32_t *ret) _warn_unused_;
