/* SPDX-License-Identifier: Apache-2.0 */
/* The service master key, sealed to the service's identity (sim sealing: a root key file). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store.h"

/*
 * <state>/master.sealed, 68 bytes:
 *   magic "VCASMK1\0" (8) || IV (12) || AES-256-GCM(sealing key, master key) (32) || tag (16)
 * AAD = the magic. sealing key = HKDF-SHA256(ikm = sim root (32 bytes), salt = "veil-cas-seal",
 * info = "sim-v1"). A hardware backend replaces the root with a TEE-derived sealing key.
 */
#define SEALED_MAGIC "VCASMK1"
#define SEALED_SIZE (8 + VEIL_GCM_IV_SIZE + VEIL_CAS_MASTER_KEY_SIZE + VEIL_GCM_TAG_SIZE)

static int load_or_create_root(const char *path, bool may_create, uint8_t root[32]) {
    uint8_t *data;
    size_t size;
    int r = veil_read_file(path, 64, &data, &size);
    if (r == -ENOENT && !may_create)
        return veil_err(-ENOENT, "the sim sealing root %s is missing, so the existing master key cannot be unsealed",
                        path);
    if (r == -ENOENT) {
        if ((r = veil_random(root, 32)) < 0) return r;
        if ((r = veil_write_file_atomic(path, root, 32, 0600)) < 0)
            return veil_err(r, "cannot create the sim sealing root %s", path);
        return 0;
    }
    if (r < 0) return veil_err(r, "cannot read the sim sealing root %s", path);
    if (size != 32) {
        veil_wipe(data, size);
        free(data);
        return veil_err(-EBADMSG, "sim sealing root %s must be 32 bytes", path);
    }
    memcpy(root, data, 32);
    veil_wipe(data, size);
    free(data);
    return 0;
}

/* The sealing key of a root file (created only when may_create). */
static int sealing_key(const char *root_path, bool may_create, uint8_t key[32]) {
    uint8_t root[32];
    int r = load_or_create_root(root_path, may_create, root);
    if (r < 0) return r;
    r = veil_hkdf_sha256(root, 32, "veil-cas-seal", 13, "sim-v1", 6, key, 32);
    veil_wipe(root, sizeof(root));
    return r;
}

static int write_sealed(const char *path, const uint8_t seal_key[32], const struct veil_secbuf *master) {
    uint8_t sealed[SEALED_SIZE];
    memcpy(sealed, SEALED_MAGIC, 8);
    int r = veil_random(sealed + 8, VEIL_GCM_IV_SIZE);
    if (r >= 0)
        r = veil_aes256gcm_seal(seal_key, sealed + 8, sealed, 8, master->data, master->size, sealed + 20,
                                sealed + 20 + VEIL_CAS_MASTER_KEY_SIZE);
    if (r >= 0) r = veil_write_file_atomic(path, sealed, sizeof(sealed), 0600);
    return r;
}

int veil_cas_master_key_load(const char *state_dir, const char *seal_root_path, struct veil_secbuf **ret) {
    uint8_t seal_key[32];
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/master.sealed", state_dir) < 0) return -ENOMEM;
    /* a new root only for a new master key: a lost root must not silently start a second one */
    int r = sealing_key(seal_root_path, access(path, F_OK) < 0 && errno == ENOENT, seal_key);
    if (r < 0) return r;
    _cleanup_secbuf_ struct veil_secbuf *master = NULL;
    if ((r = veil_secbuf_new(VEIL_CAS_MASTER_KEY_SIZE, &master)) < 0) goto out;
    uint8_t *data = NULL;
    size_t size;
    r = veil_read_file(path, 1024, &data, &size);
    if (r == -ENOENT) {
        if ((r = veil_random(master->data, master->size)) < 0 || (r = write_sealed(path, seal_key, master)) < 0) goto out;
    } else if (r < 0) {
        r = veil_err(r, "cannot read %s", path);
        goto out;
    } else {
        if (size != SEALED_SIZE || memcmp(data, SEALED_MAGIC, 8))
            r = veil_err(-EBADMSG, "%s is not a sealed veil-cas master key", path);
        else if (veil_aes256gcm_open(seal_key, data + 8, data, 8, data + 20, VEIL_CAS_MASTER_KEY_SIZE, master->data,
                                     data + 20 + VEIL_CAS_MASTER_KEY_SIZE) < 0)
            r = veil_err(-EACCES, "cannot unseal %s: wrong sealing root or tampered file", path);
        free(data);
        if (r < 0) goto out;
    }
    *ret = TAKE_PTR(master);
    r = 0;
out:
    veil_wipe(seal_key, sizeof(seal_key));
    return r;
}

int veil_cas_master_key_reseal(const char *state_dir, const char *seal_root_path, const struct veil_secbuf *master) {
    if (master->size != VEIL_CAS_MASTER_KEY_SIZE) return -EINVAL;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/master.sealed", state_dir) < 0) return -ENOMEM;
    uint8_t seal_key[32];
    int r = sealing_key(seal_root_path, true, seal_key);
    if (r >= 0) r = write_sealed(path, seal_key, master);
    veil_wipe(seal_key, sizeof(seal_key));
    return r;
}
