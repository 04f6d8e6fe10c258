/* SPDX-License-Identifier: Apache-2.0 */
/* The sim evidence format: parse, sign, and verify up to a pinned sim root. */
#include <assert.h>
#include <openssl/err.h>
#include <string.h>
#include <time.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/certgen.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "sim.h"

static_assert(VEIL_SIM_BODY_SIZE == 8 + 2 + 2 + 4 + 4 + 4 + 8 + 32 + 32 + 64 + 32, "sim body layout");

int veil_sim_evidence_parse(const uint8_t *data, size_t size, struct veil_sim_evidence *ret) {
    struct veil_cursor c = veil_cursor_make(data, size);
    struct veil_sim_evidence e = { .body = data };
    const uint8_t *magic;
    uint32_t tee;
    if (veil_cursor_borrow(&c, 8, &magic) < 0 || memcmp(magic, VEIL_SIM_MAGIC, 8) != 0)
        return veil_err(-EBADMSG, "not sim evidence (bad magic)");
    if (veil_cursor_u16le(&c, &e.version) < 0 || veil_cursor_u16le(&c, &e.flags) < 0 ||
        veil_cursor_u32le(&c, &tee) < 0 || veil_cursor_u32le(&c, &e.product_id) < 0 ||
        veil_cursor_u32le(&c, &e.security_version) < 0 || veil_cursor_u64le(&c, &e.timestamp) < 0 ||
        veil_cursor_read(&c, e.measurement, sizeof(e.measurement)) < 0 ||
        veil_cursor_read(&c, e.signer, sizeof(e.signer)) < 0 ||
        veil_cursor_read(&c, e.report_data, sizeof(e.report_data)) < 0 ||
        veil_cursor_read(&c, e.platform_id, sizeof(e.platform_id)) < 0)
        return veil_err(-EBADMSG, "sim evidence truncated");
    if (e.version != VEIL_SIM_VERSION) return veil_err(-EBADMSG, "sim evidence version %u is not supported", e.version);
    if (tee != VEIL_TEE_SIM) return veil_err(-EBADMSG, "sim evidence with tee %u", tee);
    if (e.flags != VEIL_SIM_FLAG_DEBUG) return veil_err(-EBADMSG, "sim evidence flags 0x%x (debug must be set, nothing else)", e.flags);

    uint16_t sig_size, cert_count;
    if (veil_cursor_u16le(&c, &sig_size) < 0) return veil_err(-EBADMSG, "sim evidence: no signature");
    if (sig_size == 0 || sig_size > VEIL_SIM_SIGNATURE_MAX) return veil_err(-EBADMSG, "sim signature size %u", sig_size);
    if (veil_cursor_borrow(&c, sig_size, &e.signature) < 0) return veil_err(-EBADMSG, "sim signature truncated");
    e.signature_size = sig_size;
    if (veil_cursor_u16le(&c, &cert_count) < 0) return veil_err(-EBADMSG, "sim evidence: no certificates");
    if (cert_count == 0 || cert_count > VEIL_SIM_CERTS_MAX) return veil_err(-EBADMSG, "sim certificate count %u", cert_count);
    for (size_t i = 0; i < cert_count; i++) {
        uint32_t cert_size;
        if (veil_cursor_u32le(&c, &cert_size) < 0) return veil_err(-EBADMSG, "sim certificate truncated");
        if (cert_size == 0 || cert_size > VEIL_SIM_CERT_MAX_SIZE) return veil_err(-EBADMSG, "sim certificate size %u", cert_size);
        if (veil_cursor_borrow(&c, cert_size, &e.certs[i]) < 0) return veil_err(-EBADMSG, "sim certificate truncated");
        e.cert_sizes[i] = cert_size;
    }
    e.cert_count = cert_count;
    if (veil_cursor_expect_eof(&c) < 0) return veil_err(-EBADMSG, "trailing bytes after sim evidence");
    *ret = e;
    return 0;
}

int veil_sim_evidence_create(const struct veil_sim_platform *p, const struct veil_sim_claims *claims,
                             const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) {
    uint8_t platform_id[VEIL_SIM_ID_SIZE];
    int r = veil_key_id(p->ak_key, platform_id);
    if (r < 0) return r;
    struct veil_buf body = { .limit = VEIL_SIM_BODY_SIZE };
    r = veil_buf_append(&body, VEIL_SIM_MAGIC, 8);
    if (r >= 0) r = veil_buf_append_u16le(&body, VEIL_SIM_VERSION);
    if (r >= 0) r = veil_buf_append_u16le(&body, VEIL_SIM_FLAG_DEBUG);
    if (r >= 0) r = veil_buf_append_u32le(&body, VEIL_TEE_SIM);
    if (r >= 0) r = veil_buf_append_u32le(&body, claims->product_id);
    if (r >= 0) r = veil_buf_append_u32le(&body, claims->security_version);
    if (r >= 0) r = veil_buf_append_u64le(&body, (uint64_t)time(NULL));
    if (r >= 0) r = veil_buf_append(&body, claims->measurement, VEIL_SIM_ID_SIZE);
    if (r >= 0) r = veil_buf_append(&body, claims->signer, VEIL_SIM_ID_SIZE);
    if (r >= 0) r = veil_buf_append(&body, report_data, VEIL_REPORT_DATA_SIZE);
    if (r >= 0) r = veil_buf_append(&body, platform_id, VEIL_SIM_ID_SIZE);
    _cleanup_free_ uint8_t *sig = NULL, *ak_der = NULL;
    size_t sig_size = 0, ak_der_size = 0;
    if (r >= 0) r = veil_sign(p->ak_key, body.data, body.size, &sig, &sig_size);
    if (r >= 0 && sig_size > VEIL_SIM_SIGNATURE_MAX) r = -E2BIG;
    if (r >= 0) r = veil_cert_to_der(p->ak_cert, &ak_der, &ak_der_size);
    size_t start = out->size;
    if (r >= 0) r = veil_buf_append(out, body.data, body.size);
    if (r >= 0) r = veil_buf_append_u16le(out, (uint16_t)sig_size);
    if (r >= 0) r = veil_buf_append(out, sig, sig_size);
    if (r >= 0) r = veil_buf_append_u16le(out, 1);
    if (r >= 0) r = veil_buf_append_u32le(out, (uint32_t)ak_der_size);
    if (r >= 0) r = veil_buf_append(out, ak_der, ak_der_size);
    veil_buf_done(&body);
    if (r < 0) out->size = MIN(out->size, start);
    return r;
}

int veil_sim_get_evidence(const struct veil_sim_platform *p, const struct veil_sim_claims *claims,
                          const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) {
    struct veil_buf raw = { 0 };
    int r = veil_sim_evidence_create(p, claims, report_data, &raw);
    if (r >= 0) {
        struct veil_evidence ev = { .tee = VEIL_TEE_SIM };
        ev.item[VEIL_EVIDENCE_REPORT] = raw.data;
        ev.item_size[VEIL_EVIDENCE_REPORT] = raw.size;
        r = veil_evidence_encode(&ev, out);
    }
    veil_buf_done(&raw);
    return r;
}

static void x509_stack_free(STACK_OF(X509) *s) {
    sk_X509_pop_free(s, X509_free);
}
VEIL_DEFINE_CLEANUP(STACK_OF(X509) *, x509_stack_free, x509_stack_freep)

/* The trusted sim roots: in-memory ones, else a PEM file, else the local platform's root. */
static int trusted_roots(const struct veil_verify_options *opts, X509_STORE **ret) {
    _cleanup_(veil_x509_store_freep) X509_STORE *store = X509_STORE_new();
    if (!store) return -ENOMEM;
    if (opts->sim_roots_count > 0) {
        for (size_t i = 0; i < opts->sim_roots_count; i++)
            if (X509_STORE_add_cert(store, opts->sim_roots[i]) != 1) return veil_ossl_err(-EIO, "sim root");
    } else if (opts->sim_root_path) {
        if (X509_STORE_load_file(store, opts->sim_root_path) != 1)
            return veil_ossl_err(-ENOENT, "cannot load the sim root file");
    } else {
        _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *local = NULL;
        int r = veil_sim_platform_open(NULL, false, &local);
        if (r < 0) return veil_err(r, "no trusted sim root: no local sim platform (set VEIL_SIM_DIR or pass a sim root)");
        if (X509_STORE_add_cert(store, local->root) != 1) return veil_ossl_err(-EIO, "sim root");
    }
    *ret = TAKE_PTR(store);
    return 0;
}

static int verify_chain(X509 *ak, const struct veil_sim_evidence *e, const struct veil_verify_options *opts) {
    _cleanup_(veil_x509_store_freep) X509_STORE *store = NULL;
    int r = trusted_roots(opts, &store);
    if (r < 0) return r;
    _cleanup_(x509_stack_freep) STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (!untrusted) return -ENOMEM;
    for (size_t i = 1; i < e->cert_count; i++) {
        X509 *cert;
        r = veil_cert_from_der(e->certs[i], e->cert_sizes[i], &cert);
        if (r < 0) return r;
        if (!sk_X509_push(untrusted, cert)) {
            X509_free(cert);
            return -ENOMEM;
        }
    }
    _cleanup_(veil_x509_store_ctx_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, store, ak, untrusted) != 1) return veil_ossl_err(-ENOMEM, "X509_STORE_CTX");
    if (opts->now) X509_STORE_CTX_set_time(ctx, 0, opts->now);
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        ERR_clear_error();
        return veil_err(-EACCES, "sim attestation key is not issued by a trusted sim root: %s",
                        X509_verify_cert_error_string(err));
    }
    return 0;
}

int veil_sim_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) {
    struct veil_sim_evidence e;
    int r = veil_sim_evidence_parse(ev->item[VEIL_EVIDENCE_REPORT], ev->item_size[VEIL_EVIDENCE_REPORT], &e);
    if (r < 0) return r;
    _cleanup_(veil_x509_freep) X509 *ak = NULL;
    r = veil_cert_from_der(e.certs[0], e.cert_sizes[0], &ak);
    if (r < 0) return veil_err(r, "sim evidence: bad attestation key certificate");
    r = verify_chain(ak, &e, opts);
    if (r < 0) return r;
    EVP_PKEY *ak_key = X509_get0_pubkey(ak);
    if (!ak_key || !EVP_PKEY_is_a(ak_key, "EC")) return veil_err(-EACCES, "sim attestation key is not an EC key");
    r = veil_verify(ak_key, e.body, VEIL_SIM_BODY_SIZE, e.signature, e.signature_size);
    if (r < 0) return veil_err(-EACCES, "sim evidence signature does not verify");
    uint8_t ak_id[VEIL_SIM_ID_SIZE];
    r = veil_key_id(ak_key, ak_id);
    if (r < 0) return r;
    if (!veil_memeq_ct(ak_id, e.platform_id, sizeof(ak_id)))
        return veil_err(-EACCES, "sim evidence platform id does not match its attestation key");

    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    r = veil_claims_new(VEIL_TEE_SIM, &c);
    if (r < 0) return r;
    memcpy(c->measurement, e.measurement, sizeof(e.measurement));
    c->measurement_size = sizeof(e.measurement);
    memcpy(c->signer, e.signer, sizeof(e.signer));
    c->signer_size = sizeof(e.signer);
    c->product_id = e.product_id;
    c->security_version = e.security_version;
    c->debug = true;
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    memcpy(c->report_data, e.report_data, sizeof(e.report_data));
    char hex[2 * VEIL_SIM_ID_SIZE + 1];
    veil_hex_encode(e.platform_id, sizeof(e.platform_id), hex);
    json_object_set_new(c->details, "platform_id", json_string(hex));
    json_object_set_new(c->details, "timestamp", json_integer((json_int_t)e.timestamp));
    json_object_set_new(c->details, "memory_protection", json_string("none (simulated TEE)"));
    *ret_claims = TAKE_PTR(c);
    return 0;
}
