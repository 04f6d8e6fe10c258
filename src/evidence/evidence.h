/* SPDX-License-Identifier: Apache-2.0 */
/* The one evidence interface: the envelope that carries any TEE's evidence, acquisition, verification, policy. */
#pragma once

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "base/macro.h"
#include "claims.h"

/*
 * The evidence envelope (docs/evidence.md has the byte layout):
 *
 *   offset size
 *   0      8    magic "VEILEVD\0"
 *   8      2    version, u16le = 1
 *   10     2    tee, u16le (enum veil_tee)
 *   12     4    reserved, zero
 *   16     ...  items until the end: u16le type, u32le size, size bytes of value
 *
 * Each item type appears at most once. Unknown types below 0x8000 are skipped
 * (informational); unknown types at or above 0x8000 are refused (critical).
 * The envelope only routes bytes to the right verifier: nothing in it is trusted
 * until that verifier has checked the signature chain inside.
 */
#define VEIL_EVIDENCE_MAGIC "VEILEVD"  /* 7 chars + the NUL = 8 bytes */
#define VEIL_EVIDENCE_MAGIC_SIZE 8
#define VEIL_EVIDENCE_VERSION 1
#define VEIL_EVIDENCE_HEADER_SIZE 16
#define VEIL_EVIDENCE_MAX_SIZE ((size_t)8 << 20)      /* whole envelope */
#define VEIL_EVIDENCE_ITEM_MAX_SIZE ((size_t)4 << 20) /* one item */

enum veil_evidence_item {
    VEIL_EVIDENCE_REPORT = 1,       /* the raw report / quote (SNP report, TDX/SGX quote, sim evidence, Azure HCL report) */
    VEIL_EVIDENCE_CERTS = 2,        /* certificate chain, concatenated DER, leaf first (SNP: VCEK/VLEK, ASK, ARK) */
    VEIL_EVIDENCE_AUXBLOB = 3,      /* configfs-tsm auxblob as the kernel returned it (SNP: GUID-keyed cert table) */
    VEIL_EVIDENCE_COLLATERAL = 4,   /* JSON collateral (Intel PCS TCB info, QE identity, CRLs, issuer chains) */
    VEIL_EVIDENCE_RUNTIME_DATA = 5, /* TEE-specific runtime data (Azure: vTPM evidence JSON) */
    VEIL_EVIDENCE_TPM_QUOTE = 6,    /* Azure: TPM2 quote message (TPMS_ATTEST) */
    VEIL_EVIDENCE_TPM_SIGNATURE = 7,/* Azure: signature over the TPM2 quote */
    VEIL_EVIDENCE_ITEM_COUNT,
};
#define VEIL_EVIDENCE_ITEM_CRITICAL 0x8000

/*
 * A decoded envelope. Item pointers BORROW from the buffer given to
 * veil_evidence_decode() (which must outlive this struct); for encoding, the
 * caller points them at its own bytes. Absent items have size 0 and data NULL.
 */
struct veil_evidence {
    enum veil_tee tee;
    const uint8_t *item[VEIL_EVIDENCE_ITEM_COUNT];
    size_t item_size[VEIL_EVIDENCE_ITEM_COUNT];
};

/* Parse an envelope (untrusted bytes; only the framing is checked). */
int veil_evidence_decode(const uint8_t *data, size_t size, struct veil_evidence *ret) _warn_unused_;
/* Append the envelope for ev to out. */
int veil_evidence_encode(const struct veil_evidence *ev, struct veil_buf *out) _warn_unused_;

/* ---- verification ---- */

/*
 * What a verifier trusts and when it runs. Zero-initialise and set what you need.
 * A NULL path means the built-in or default location (documented per field).
 */
struct veil_verify_options {
    /* Verification time (certificate validity, TCB info / CRL freshness); 0 = now.
     * Tests pin it inside the vectors' validity window. */
    time_t now;
    /* Accept evidence from the sim TEE at all. Off by default: sim proves nothing
     * about memory protection. veil_evidence_verify_policy() sets it from the policy. */
    bool allow_sim;
    /* Sim roots trusted for sim evidence: in-memory certificates (tests, services), else the
     * PEM file sim_root_path, else the local platform's root in veil_sim_dir(). */
    X509 *const *sim_roots;
    size_t sim_roots_count;
    const char *sim_root_path;
    /* Hardware roots trusted besides those pinned in the verifiers: a directory whose
     * self-signed certificates are extra Intel roots (e.g. intel_sgx_root_ca.der), and
     * whose ask_ark_<product>.pem files (product milan|genoa|turin, any case) each add
     * their one self-signed certificate as that product's AMD ARK; every certificate in
     * it is also collateral. NULL = only the pinned roots (docs/hardware-evidence.md). */
    const char *trust_dir;
    /* Where a verifier looks for collateral the evidence does not carry
     * (PCS TCB info, QE identity, CRLs, VCEK); NULL = only what the envelope holds. */
    const char *collateral_dir;
};

/*
 * A per-TEE verifier: checks the evidence's signature chain up to a trusted root
 * (as of opts->now) and, only then, fills claims. Returns -EBADMSG for malformed
 * evidence, -EACCES for a failed signature / chain / revocation / freshness check,
 * with a veil_err() detail. Writes *ret_claims only on success.
 */
typedef int (*veil_evidence_verify_fn)(const struct veil_evidence *ev,
                                       const struct veil_verify_options *opts,
                                       struct veil_claims **ret_claims);

struct veil_evidence_verifier {
    enum veil_tee tee;
    veil_evidence_verify_fn verify;
};

/*
 * The registration table (src/evidence/verifiers.c): one line per TEE. The sim
 * verifier is registered by `evidence`; `hwverify` adds snp, tdx, sgx, az-snp-vtpm.
 * Terminated by an entry with verify == NULL.
 */
extern const struct veil_evidence_verifier veil_evidence_verifiers[];

/* Per-TEE verifiers (each defined in its own file). */
int veil_sim_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) _warn_unused_;

/*
 * Decode an envelope and run the verifier for its TEE. Refuses sim evidence with
 * -EPERM ("sim evidence refused: the policy does not allow the sim TEE") unless
 * opts->allow_sim. -EOPNOTSUPP when no verifier is registered for the TEE.
 */
int veil_evidence_verify(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                         struct veil_claims **ret_claims) _warn_unused_;

/* ---- policy ---- */

#define VEIL_POLICY_MAX_VALUES 64

struct veil_policy_value {
    uint8_t data[VEIL_MEASUREMENT_MAX];
    size_t size;
};

/*
 * What a relying party accepts. An empty measurement or signer list places no
 * constraint on that field (a policy should pin at least one of them).
 * Defaults (veil_policy_init): every hardware TEE, no sim, any measurement and
 * signer, no product id, min security version 0, debug refused, TCB statuses
 * UpToDate / SWHardeningNeeded / ConfigurationNeeded / ConfigurationAndSWHardeningNeeded,
 * no report-data expectation.
 */
struct veil_policy {
    uint32_t allowed_tees;            /* bit (1u << enum veil_tee); sim only when set explicitly */
    struct veil_policy_value measurements[VEIL_POLICY_MAX_VALUES];
    size_t measurements_count;
    struct veil_policy_value signers[VEIL_POLICY_MAX_VALUES];
    size_t signers_count;
    bool check_product_id;
    uint32_t product_id;
    uint32_t min_security_version;
    bool debug_allowed;               /* hardware only: sim evidence is debug by nature, allowing sim accepts it */
    uint32_t accepted_tcb_statuses;   /* bit (1u << enum veil_tcb_status) */
    bool check_report_data;
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
};

#define VEIL_POLICY_TEE_BIT(tee) (1u << (unsigned)(tee))

void veil_policy_init(struct veil_policy *p);

/* Load the JSON policy file format (docs/evidence.md); unknown keys are refused. */
int veil_policy_load(const char *path, struct veil_policy *ret) _warn_unused_;
int veil_policy_parse_json(const char *text, size_t size, struct veil_policy *ret) _warn_unused_;

/*
 * 0 when claims satisfy the policy; -EPERM with a detail naming the failed rule
 * ("policy: measurement 1a2b… is not in the allowed list", "policy: TEE 'sim' is not allowed", …).
 */
int veil_policy_check(const struct veil_policy *p, const struct veil_claims *claims) _warn_unused_;

/*
 * Verify (with allow_sim taken from the policy) and check the policy. On a policy
 * refusal (-EPERM) the verified claims are still returned in *ret_claims so that
 * callers can show them; on any other failure *ret_claims is untouched.
 */
int veil_evidence_verify_policy(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                                const struct veil_policy *policy, struct veil_claims **ret_claims) _warn_unused_;

/* ---- acquisition ---- */

/*
 * How to obtain evidence. tee = 0 means auto: configfs-tsm if present, else
 * /dev/sev-guest, else /dev/tdx_guest; sim is never chosen automatically.
 */
struct veil_attest_options {
    enum veil_tee tee;
    /* sim: the platform directory (NULL = veil_sim_dir()), and the claims the caller vouches for.
     * veil-run passes its computed measurement and signer id. */
    const char *sim_dir;
    uint8_t sim_measurement[32];
    uint8_t sim_signer[32];
    uint32_t sim_product_id;
    uint32_t sim_security_version;
    /* hardware: configfs-tsm report directory (NULL = /sys/kernel/config/tsm/report),
     * and the legacy device nodes (NULL = /dev/sev-guest, /dev/tdx_guest). */
    const char *tsm_dir;
    const char *sev_guest_path;
    const char *tdx_guest_path;
};

/* Obtain evidence for report_data and append it to out as an envelope. */
int veil_evidence_get(const struct veil_attest_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                      struct veil_buf *out) _warn_unused_;
