/* SPDX-License-Identifier: Apache-2.0 */
/* NV read/write and TPM2_Quote over tpm2-tss ESYS; TSS2_RC codes become negative errno here and nowhere else. */
#include "vtpm-esys.h"

#include <stdbool.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "base/err.h"

struct veil_vtpm_session {
    TSS2_TCTI_CONTEXT *tcti;
    bool owns_tcti; /* loaded by Tss2_TctiLdr, so finalized with the session */
    ESYS_CONTEXT *esys;
};

static void esys_freep(void *p) {
    Esys_Free(*(void **)p);
}
#define _cleanup_esys_ _cleanup_(esys_freep)

/* The base code of a TPM format-1 response (handle/parameter/session numbers stripped). */
static TSS2_RC tpm_base(TSS2_RC rc) {
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER && (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
        return 0;
    rc &= 0xffff;
    return (rc & TPM2_RC_FMT1) ? (rc & 0xbf) : rc;
}

/* Translate a failed tss2 call: what, the TPM's code and its decoded text. */
static int tss_err(TSS2_RC rc, const char *what) {
    TSS2_RC base = tpm_base(rc);
    int err = -EIO;
    if (base == TPM2_RC_HANDLE)
        err = -ENOENT;
    else if (base == TPM2_RC_NV_UNINITIALIZED)
        err = -ENODATA;
    else if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
        err = -ENXIO;
    return veil_err(err, "%s: TPM response 0x%x (%s)", what, rc, Tss2_RC_Decode(rc));
}

int veil_vtpm_session_open(const char *conf, struct veil_vtpm_session **ret) {
    struct veil_vtpm_session *s = calloc(1, sizeof(*s));
    if (!s) return -ENOMEM;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &s->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        free(s);
        return veil_err(-ENXIO, "cannot open the TPM through TCTI '%s' (0x%x: %s)", conf, rc, Tss2_RC_Decode(rc));
    }
    s->owns_tcti = true;
    rc = Esys_Initialize(&s->esys, s->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        int r = veil_err(-ENXIO, "cannot talk to the TPM through TCTI '%s' (0x%x: %s)", conf, rc, Tss2_RC_Decode(rc));
        veil_vtpm_session_close(s);
        return r;
    }
    *ret = s;
    return 0;
}

int veil_vtpm_session_on(TSS2_TCTI_CONTEXT *tcti, struct veil_vtpm_session **ret) {
    struct veil_vtpm_session *s = calloc(1, sizeof(*s));
    if (!s) return -ENOMEM;
    s->tcti = tcti;
    TSS2_RC rc = Esys_Initialize(&s->esys, tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        free(s);
        return veil_err(-ENXIO, "cannot talk to the TPM (0x%x: %s)", rc, Tss2_RC_Decode(rc));
    }
    *ret = s;
    return 0;
}

void veil_vtpm_session_close(struct veil_vtpm_session *s) {
    if (!s) return;
    if (s->esys) Esys_Finalize(&s->esys);
    if (s->tcti && s->owns_tcti) Tss2_TctiLdr_Finalize(&s->tcti);
    free(s);
}

/* An ESYS handle for a TPM handle that exists; -ENOENT otherwise. */
static int tr_from_handle(struct veil_vtpm_session *s, uint32_t handle, const char *what, ESYS_TR *ret) {
    TSS2_RC rc = Esys_TR_FromTPMPublic(s->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret);
    if (rc == TSS2_RC_SUCCESS) return 0;
    int r = tss_err(rc, "TPM2_ReadPublic");
    if (r == -ENOENT) return veil_err(-ENOENT, "%s 0x%08x does not exist in this TPM", what, handle);
    return r;
}

static int nv_public(struct veil_vtpm_session *s, uint32_t index, ESYS_TR *ret_tr, TPMS_NV_PUBLIC *ret_pub) {
    ESYS_TR tr;
    int r = tr_from_handle(s, index, "NV index", &tr);
    if (r < 0) return r;
    _cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
    TSS2_RC rc = Esys_NV_ReadPublic(s->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Esys_TR_Close(s->esys, &tr);
        return tss_err(rc, "TPM2_NV_ReadPublic");
    }
    *ret_tr = tr;
    *ret_pub = pub->nvPublic;
    return 0;
}

/* Owner authorization when the index allows it (Azure's indices do, with an empty owner auth), else the index's own. */
static int nv_auth(const TPMS_NV_PUBLIC *pub, ESYS_TR index_tr, bool write, ESYS_TR *ret) {
    TPMA_NV owner = write ? TPMA_NV_OWNERWRITE : TPMA_NV_OWNERREAD;
    TPMA_NV self = write ? TPMA_NV_AUTHWRITE : TPMA_NV_AUTHREAD;
    if (pub->attributes & owner)
        *ret = ESYS_TR_RH_OWNER;
    else if (pub->attributes & self)
        *ret = index_tr;
    else
        return veil_err(-EACCES, "NV index 0x%08x cannot be %s with owner or index authorization (attributes 0x%08x)",
                        pub->nvIndex, write ? "written" : "read", pub->attributes);
    return 0;
}

int veil_vtpm_nv_size(struct veil_vtpm_session *s, uint32_t index, size_t *ret_size) {
    ESYS_TR tr;
    TPMS_NV_PUBLIC pub;
    int r = nv_public(s, index, &tr, &pub);
    if (r < 0) return r;
    Esys_TR_Close(s->esys, &tr);
    *ret_size = pub.dataSize;
    return 0;
}

/* The TPM's largest NV read/write (TPM_PT_NV_BUFFER_MAX); 512 when it does not say. */
static size_t nv_chunk_size(struct veil_vtpm_session *s) {
    _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    TSS2_RC rc = Esys_GetCapability(s->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                    TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
    size_t chunk = 512;
    if (rc == TSS2_RC_SUCCESS && cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX)
        chunk = cap->data.tpmProperties.tpmProperty[0].value;
    return MAX((size_t)64, MIN(chunk, (size_t)TPM2_MAX_NV_BUFFER_SIZE));
}

int veil_vtpm_nv_read(struct veil_vtpm_session *s, uint32_t index, size_t max, struct veil_buf *out) {
    ESYS_TR tr, auth = ESYS_TR_NONE;
    TPMS_NV_PUBLIC pub;
    int r = nv_public(s, index, &tr, &pub);
    if (r < 0) return r;
    if (pub.dataSize > max) r = veil_err(-EFBIG, "NV index 0x%08x holds %u bytes, more than %zu", index, pub.dataSize, max);
    if (r >= 0) r = nv_auth(&pub, tr, false, &auth);
    size_t chunk = nv_chunk_size(s);
    for (size_t offset = 0; r >= 0 && offset < pub.dataSize;) {
        uint16_t n = (uint16_t)MIN(chunk, pub.dataSize - offset);
        _cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
        TSS2_RC rc = Esys_NV_Read(s->esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, (uint16_t)offset, &data);
        if (rc != TSS2_RC_SUCCESS)
            r = tss_err(rc, "TPM2_NV_Read");
        else if (data->size != n)
            r = veil_err(-EIO, "TPM2_NV_Read of NV index 0x%08x returned %u bytes for %u", index, data->size, n);
        else
            r = veil_buf_append(out, data->buffer, n);
        offset += n;
    }
    Esys_TR_Close(s->esys, &tr);
    return r;
}

static int nv_define(struct veil_vtpm_session *s, uint32_t index, size_t size) {
    TPM2B_AUTH no_auth = { .size = 0 };
    TPM2B_NV_PUBLIC info = {
        .nvPublic = {
            .nvIndex = index,
            .nameAlg = TPM2_ALG_SHA256,
            .attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE,
            .dataSize = (uint16_t)size,
        },
    };
    ESYS_TR tr;
    TSS2_RC rc = Esys_NV_DefineSpace(s->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_auth,
                                     &info, &tr);
    if (rc != TSS2_RC_SUCCESS) return tss_err(rc, "TPM2_NV_DefineSpace");
    Esys_TR_Close(s->esys, &tr);
    return 0;
}

int veil_vtpm_nv_write(struct veil_vtpm_session *s, uint32_t index, const uint8_t *data, size_t size) {
    TPM2B_MAX_NV_BUFFER buf = { .size = (uint16_t)size };
    if (size > sizeof(buf.buffer)) return -EINVAL;
    memcpy(buf.buffer, data, size);
    ESYS_TR tr, auth = ESYS_TR_NONE;
    TPMS_NV_PUBLIC pub;
    int r = nv_public(s, index, &tr, &pub);
    if (r == -ENOENT) {
        r = nv_define(s, index, size);
        if (r >= 0) r = nv_public(s, index, &tr, &pub);
    }
    if (r < 0) return r;
    if (pub.dataSize < size) r = veil_err(-EFBIG, "NV index 0x%08x holds %u bytes, less than %zu", index, pub.dataSize, size);
    if (r >= 0) r = nv_auth(&pub, tr, true, &auth);
    if (r >= 0) {
        TSS2_RC rc = Esys_NV_Write(s->esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &buf, 0);
        if (rc != TSS2_RC_SUCCESS) r = tss_err(rc, "TPM2_NV_Write");
    }
    Esys_TR_Close(s->esys, &tr);
    return r;
}

/* The key must sign with RSASSA SHA-256 (what the Azure verifier checks); its own scheme, or that one if it has none. */
static int quote_scheme(struct veil_vtpm_session *s, ESYS_TR key, uint32_t handle, TPMT_SIG_SCHEME *ret) {
    _cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc = Esys_ReadPublic(s->esys, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) return tss_err(rc, "TPM2_ReadPublic");
    const TPMT_PUBLIC *p = &pub->publicArea;
    if (p->type != TPM2_ALG_RSA || !(p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
        return veil_err(-EOPNOTSUPP, "key 0x%08x is not an RSA signing key (type 0x%04x)", handle, p->type);
    const TPMT_RSA_SCHEME *scheme = &p->parameters.rsaDetail.scheme;
    if (scheme->scheme == TPM2_ALG_NULL) {
        *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256 };
        return 0;
    }
    if (scheme->scheme != TPM2_ALG_RSASSA || scheme->details.rsassa.hashAlg != TPM2_ALG_SHA256)
        return veil_err(-EOPNOTSUPP, "key 0x%08x signs with scheme 0x%04x/hash 0x%04x, not RSASSA SHA-256", handle,
                        scheme->scheme, scheme->details.anySig.hashAlg);
    *ret = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_NULL };
    return 0;
}

int veil_vtpm_quote(struct veil_vtpm_session *s, uint32_t key_handle, uint32_t pcr_mask, const uint8_t *nonce,
                    size_t nonce_size, struct veil_buf *ret_quote, struct veil_buf *ret_signature) {
    TPM2B_DATA qualifying = { .size = (uint16_t)nonce_size };
    if (nonce_size > sizeof(qualifying.buffer) || pcr_mask >> 24) return -EINVAL;
    memcpy(qualifying.buffer, nonce, nonce_size);
    TPML_PCR_SELECTION pcrs = {
        .count = 1,
        .pcrSelections[0] = {
            .hash = TPM2_ALG_SHA256,
            .sizeofSelect = 3,
            .pcrSelect = { pcr_mask & 0xff, (pcr_mask >> 8) & 0xff, (pcr_mask >> 16) & 0xff },
        },
    };
    ESYS_TR key;
    int r = tr_from_handle(s, key_handle, "attestation key", &key);
    if (r < 0) return r;
    TPMT_SIG_SCHEME scheme;
    r = quote_scheme(s, key, key_handle, &scheme);
    _cleanup_esys_ TPM2B_ATTEST *quoted = NULL;
    _cleanup_esys_ TPMT_SIGNATURE *signature = NULL;
    if (r >= 0) {
        TSS2_RC rc = Esys_Quote(s->esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &scheme, &pcrs,
                                &quoted, &signature);
        if (rc != TSS2_RC_SUCCESS) r = tss_err(rc, "TPM2_Quote");
    }
    Esys_TR_Close(s->esys, &key);
    if (r < 0) return r;
    if (signature->sigAlg != TPM2_ALG_RSASSA || signature->signature.rsassa.hash != TPM2_ALG_SHA256)
        return veil_err(-EOPNOTSUPP, "TPM2_Quote signed with 0x%04x, not RSASSA SHA-256", signature->sigAlg);
    r = veil_buf_append(ret_quote, quoted->attestationData, quoted->size);
    if (r >= 0)
        r = veil_buf_append(ret_signature, signature->signature.rsassa.sig.buffer, signature->signature.rsassa.sig.size);
    return r;
}
