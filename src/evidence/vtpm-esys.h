/* SPDX-License-Identifier: Apache-2.0 */
/* The few TPM2 commands the vTPM evidence path needs, over tpm2-tss ESYS, with errors as negative errno. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tcti.h>

#include "base/buf.h"
#include "base/macro.h"
#include "claims.h"

struct veil_vtpm_options;
struct veil_vtpm_session;

/* Open the TCTI named by conf (tss2 TCTI loader syntax) and an ESYS context on it; -ENXIO on failure. */
int veil_vtpm_session_open(const char *conf, struct veil_vtpm_session **ret) _warn_unused_;
/* A session on a TCTI context the caller owns and finalizes (the fuzzer's in-memory TPM). */
int veil_vtpm_session_on(TSS2_TCTI_CONTEXT *tcti, struct veil_vtpm_session **ret) _warn_unused_;
void veil_vtpm_session_close(struct veil_vtpm_session *s);
VEIL_DEFINE_CLEANUP(struct veil_vtpm_session *, veil_vtpm_session_close, veil_vtpm_session_closep)

/* The data size of NV index `index`; -ENOENT when it is not defined. */
int veil_vtpm_nv_size(struct veil_vtpm_session *s, uint32_t index, size_t *ret_size) _warn_unused_;

/* Read the whole NV index (at most max bytes, else -EFBIG) and append it to out. */
int veil_vtpm_nv_read(struct veil_vtpm_session *s, uint32_t index, size_t max, struct veil_buf *out) _warn_unused_;

/* Write data at offset 0, defining the index (owner auth, owner read/write, `size` bytes) when absent. */
int veil_vtpm_nv_write(struct veil_vtpm_session *s, uint32_t index, const uint8_t *data, size_t size) _warn_unused_;

/*
 * TPM2_Quote by the persistent key at `key_handle` over the SHA-256 PCRs in pcr_mask with
 * qualifyingData = nonce (at most 64 bytes). Appends the TPMS_ATTEST bytes to ret_quote and
 * the raw RSASSA signature to ret_signature. -ENOENT when the key does not exist,
 * -EOPNOTSUPP when it is not an RSA key signing with RSASSA SHA-256.
 */
int veil_vtpm_quote(struct veil_vtpm_session *s, uint32_t key_handle, uint32_t pcr_mask, const uint8_t *nonce,
                    size_t nonce_size, struct veil_buf *ret_quote, struct veil_buf *ret_signature) _warn_unused_;

/* veil_vtpm_get_evidence() on an open session (opts->tcti is not used). */
int veil_vtpm_get_evidence_on(struct veil_vtpm_session *s, const struct veil_vtpm_options *opts,
                              const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) _warn_unused_;
