/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery of the master key by an owner's key: ECDH to an ephemeral key, HKDF, AES-256-GCM. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "store.h"

/*
 * <state>/master.recovery, all integers little-endian:
 *   0      8   magic "VCASRK1\0"
 *   8      2   size E of the ephemeral public key (SubjectPublicKeyInfo DER), 1..512
 *   10     E   ephemeral public key, same type and curve as the recipient's
 *   10+E   32  recipient id = SHA-256 of the recipient's SubjectPublicKeyInfo DER
 *   42+E   12  IV
 *   54+E   32  AES-256-GCM ciphertext of the master key
 *   86+E   16  tag
 * KEK = HKDF-SHA256(ikm = ECDH(ephemeral, recipient), salt = "veil-cas-recovery",
 *                   info = ephemeral SPKI DER || recipient id); AAD = bytes [0, 42+E).
 */
#define RECOVERY_MAGIC "VCASRK1"
#define RECOVERY_SPKI_MAX 512

int veil_cas_recovery_parse(const uint8_t *data, size_t size, struct veil_cas_recovery_blob *ret) {
    struct veil_cursor c = veil_cursor_make(data, size);
    struct veil_cas_recovery_blob b = { .header = data };
    const uint8_t *magic;
    uint16_t spki_size;
    int r = veil_cursor_borrow(&c, 8, &magic);
    if (r < 0 || memcmp(magic, RECOVERY_MAGIC, 8)) return veil_err(-EBADMSG, "not a veil-cas recovery file");
    if ((r = veil_cursor_u16le(&c, &spki_size)) < 0) return veil_err(r, "recovery file too short");
    if (spki_size == 0 || spki_size > RECOVERY_SPKI_MAX) return veil_err(-EBADMSG, "bad ephemeral key size");
    b.ephemeral_spki_size = spki_size;
    if ((r = veil_cursor_borrow(&c, spki_size, &b.ephemeral_spki)) < 0 ||
        (r = veil_cursor_borrow(&c, 32, &b.recipient_id)) < 0)
        return veil_err(-EBADMSG, "recovery file too short");
    b.header_size = c.pos;
    if ((r = veil_cursor_borrow(&c, VEIL_GCM_IV_SIZE, &b.iv)) < 0 ||
        (r = veil_cursor_borrow(&c, VEIL_CAS_MASTER_KEY_SIZE, &b.ciphertext)) < 0 ||
        (r = veil_cursor_borrow(&c, VEIL_GCM_TAG_SIZE, &b.tag)) < 0)
        return veil_err(-EBADMSG, "recovery file too short");
    if ((r = veil_cursor_expect_eof(&c)) < 0) return veil_err(-EBADMSG, "trailing bytes in recovery file");
    *ret = b;
    return 0;
}

static int ecdh(EVP_PKEY *own, EVP_PKEY *peer, uint8_t *out, size_t *out_size) {
    _cleanup_(veil_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(own, NULL);
    size_t n = *out_size;
    if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
        EVP_PKEY_derive(ctx, out, &n) <= 0)
        return veil_ossl_err(-EACCES, "key agreement (the recovery key must be EC or X25519)");
    *out_size = n;
    return 0;
}

static int kek(const uint8_t *shared, size_t shared_size, const uint8_t *spki, size_t spki_size,
               const uint8_t id[32], uint8_t out[32]) {
    uint8_t info[RECOVERY_SPKI_MAX + 32];
    memcpy(info, spki, spki_size);
    memcpy(info + spki_size, id, 32);
    return veil_hkdf_sha256(shared, shared_size, "veil-cas-recovery", 17, info, spki_size + 32, out, 32);
}

static int recovery_path(const char *state_dir, char **ret) {
    return asprintf(ret, "%s/master.recovery", state_dir) < 0 ? -ENOMEM : 0;
}

int veil_cas_recovery_wrap(const char *state_dir, EVP_PKEY *recipient, const struct veil_secbuf *master) {
    _cleanup_(veil_evp_pkey_ctx_freep) EVP_PKEY_CTX *gen = EVP_PKEY_CTX_new_from_pkey(NULL, recipient, NULL);
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *eph = NULL;
    if (!gen || EVP_PKEY_keygen_init(gen) <= 0 || EVP_PKEY_keygen(gen, &eph) <= 0)
        return veil_ossl_err(-EINVAL, "ephemeral key for the recovery key's type");
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_size;
    uint8_t id[32], shared[128], key[32];
    size_t shared_size = sizeof(shared);
    int r = veil_key_public_der(eph, &spki, &spki_size);
    if (r < 0) return r;
    if (spki_size > RECOVERY_SPKI_MAX) return -EINVAL;
    if ((r = veil_key_id(recipient, id)) < 0 || (r = ecdh(eph, recipient, shared, &shared_size)) < 0) return r;
    r = kek(shared, shared_size, spki, spki_size, id, key);
    veil_wipe(shared, sizeof(shared));
    if (r < 0) return r;
    struct veil_buf out = { .limit = 4096 };
    if ((r = veil_buf_append(&out, RECOVERY_MAGIC, 8)) >= 0 && (r = veil_buf_append_u16le(&out, (uint16_t)spki_size)) >= 0 &&
        (r = veil_buf_append(&out, spki, spki_size)) >= 0 && (r = veil_buf_append(&out, id, 32)) >= 0 &&
        (r = veil_buf_append_zeros(&out, VEIL_GCM_IV_SIZE + VEIL_CAS_MASTER_KEY_SIZE + VEIL_GCM_TAG_SIZE)) >= 0) {
        size_t header = 10 + spki_size + 32;
        uint8_t *iv = out.data + header;
        if ((r = veil_random(iv, VEIL_GCM_IV_SIZE)) >= 0)
            r = veil_aes256gcm_seal(key, iv, out.data, header, master->data, master->size, iv + VEIL_GCM_IV_SIZE,
                                    iv + VEIL_GCM_IV_SIZE + VEIL_CAS_MASTER_KEY_SIZE);
    }
    veil_wipe(key, sizeof(key));
    _cleanup_free_ char *path = NULL;
    if (r >= 0) r = recovery_path(state_dir, &path);
    if (r >= 0) r = veil_write_file_atomic(path, out.data, out.size, 0600);
    veil_buf_done(&out);
    return r;
}

int veil_cas_recovery_unwrap(const char *state_dir, EVP_PKEY *private_key, struct veil_secbuf **ret) {
    _cleanup_free_ char *path = NULL;
    int r = recovery_path(state_dir, &path);
    if (r < 0) return r;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    if ((r = veil_read_file(path, 4096, &data, &size)) < 0) return veil_err(r, "cannot read %s", path);
    struct veil_cas_recovery_blob b;
    if ((r = veil_cas_recovery_parse(data, size, &b)) < 0) return r;
    uint8_t id[32], shared[128], key[32];
    size_t shared_size = sizeof(shared);
    if ((r = veil_key_id(private_key, id)) < 0) return r;
    if (!veil_memeq_ct(id, b.recipient_id, 32))
        return veil_err(-EACCES, "%s was made for another recovery key", path);
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *eph = NULL;
    if ((r = veil_key_from_public_der(b.ephemeral_spki, b.ephemeral_spki_size, &eph)) < 0) return r;
    if ((r = ecdh(private_key, eph, shared, &shared_size)) < 0) return r;
    r = kek(shared, shared_size, b.ephemeral_spki, b.ephemeral_spki_size, b.recipient_id, key);
    veil_wipe(shared, sizeof(shared));
    if (r < 0) return r;
    _cleanup_secbuf_ struct veil_secbuf *master = NULL;
    if ((r = veil_secbuf_new(VEIL_CAS_MASTER_KEY_SIZE, &master)) >= 0 &&
        veil_aes256gcm_open(key, b.iv, b.header, b.header_size, b.ciphertext, VEIL_CAS_MASTER_KEY_SIZE, master->data,
                            b.tag) < 0)
        r = veil_err(-EACCES, "%s failed authentication (altered, or not for this key)", path);
    veil_wipe(key, sizeof(key));
    if (r < 0) return r;
    *ret = TAKE_PTR(master);
    return 0;
}
