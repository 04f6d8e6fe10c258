/* SPDX-License-Identifier: Apache-2.0 */
/* The 128-byte header: encoding, parsing through a cursor, and its MAC over the logical path. */
#include "format.h"

#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

static const char header_info[] = "veil-encfile-v1 header";

int encfile_header_key(const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE],
                       uint8_t ret_key[32]) {
    return veil_hkdf_sha256(key, VEIL_ENCFILE_KEY_SIZE, file_id, VEIL_ENCFILE_FILE_ID_SIZE, header_info,
                            sizeof(header_info) - 1, ret_key, 32);
}

/* HMAC-SHA256(K_hdr, header[0..96) || u32le len(path) || path) */
static int header_mac(const uint8_t hdr[ENCFILE_HEADER_SIZE], const uint8_t hdr_key[32], const char *logical_path,
                      uint8_t out[HDR_MAC_SIZE]) {
    size_t path_size = strlen(logical_path);
    if (path_size > VEIL_ENCFILE_PATH_MAX) return veil_err(-EINVAL, "logical path longer than %d bytes", VEIL_ENCFILE_PATH_MAX);
    uint8_t msg[HDR_OFF_MAC + 4 + VEIL_ENCFILE_PATH_MAX];
    memcpy(msg, hdr, HDR_OFF_MAC);
    veil_store_u32le(msg + HDR_OFF_MAC, (uint32_t)path_size);
    memcpy(msg + HDR_OFF_MAC + 4, logical_path, path_size);
    return veil_hmac_sha256(hdr_key, 32, msg, HDR_OFF_MAC + 4 + path_size, out);
}

int encfile_header_encode(const struct encfile_header *h, const uint8_t hdr_key[32], const char *logical_path,
                          uint8_t out[ENCFILE_HEADER_SIZE]) {
    uint8_t hdr[ENCFILE_HEADER_SIZE] = { 0 };
    memcpy(hdr + HDR_OFF_MAGIC, ENCFILE_MAGIC, ENCFILE_MAGIC_SIZE);
    veil_store_u16le(hdr + HDR_OFF_FORMAT_VERSION, ENCFILE_FORMAT_VERSION);
    veil_store_u16le(hdr + HDR_OFF_HEADER_SIZE, ENCFILE_HEADER_SIZE);
    hdr[HDR_OFF_NODE_SHIFT] = ENCFILE_NODE_SHIFT;
    memcpy(hdr + HDR_OFF_FILE_ID, h->file_id, VEIL_ENCFILE_FILE_ID_SIZE);
    veil_store_u64le(hdr + HDR_OFF_VERSION, h->version);
    veil_store_u64le(hdr + HDR_OFF_SIZE, h->size);
    memcpy(hdr + HDR_OFF_ROOT, &h->root, ENCFILE_ENTRY_SIZE);
    int r = header_mac(hdr, hdr_key, logical_path, hdr + HDR_OFF_MAC);
    if (r < 0) return r;
    memcpy(out, hdr, ENCFILE_HEADER_SIZE);
    return 0;
}

static bool all_zero(const uint8_t *p, size_t size) {
    uint8_t acc = 0;
    for (size_t i = 0; i < size; i++) acc |= p[i];
    return acc == 0;
}

int encfile_header_parse(const uint8_t *data, size_t size, struct encfile_header *ret) {
    struct veil_cursor c = veil_cursor_make(data, size);
    const uint8_t *magic, *reserved0, *file_id, *root, *reserved1, *mac;
    uint16_t format_version, header_size;
    uint8_t node_shift, flags;
    struct encfile_header h;

    if (veil_cursor_borrow(&c, ENCFILE_MAGIC_SIZE, &magic) < 0 || memcmp(magic, ENCFILE_MAGIC, ENCFILE_MAGIC_SIZE))
        return veil_err(-EBADMSG, "not an encrypted veil file (bad magic)");
    if (veil_cursor_u16le(&c, &format_version) < 0 || veil_cursor_u16le(&c, &header_size) < 0 ||
        veil_cursor_u8(&c, &node_shift) < 0 || veil_cursor_u8(&c, &flags) < 0 ||
        veil_cursor_borrow(&c, 2, &reserved0) < 0)
        return veil_err(-EBADMSG, "encrypted file header truncated");
    if (format_version != ENCFILE_FORMAT_VERSION)
        return veil_err(-EBADMSG, "unsupported encrypted file format version %u", format_version);
    if (header_size != ENCFILE_HEADER_SIZE || node_shift != ENCFILE_NODE_SHIFT || flags != 0 ||
        !all_zero(reserved0, 2))
        return veil_err(-EBADMSG, "encrypted file header has unsupported parameters");
    if (veil_cursor_borrow(&c, VEIL_ENCFILE_FILE_ID_SIZE, &file_id) < 0 || veil_cursor_u64le(&c, &h.version) < 0 ||
        veil_cursor_u64le(&c, &h.size) < 0 || veil_cursor_borrow(&c, ENCFILE_ENTRY_SIZE, &root) < 0 ||
        veil_cursor_borrow(&c, 16, &reserved1) < 0 || veil_cursor_borrow(&c, HDR_MAC_SIZE, &mac) < 0)
        return veil_err(-EBADMSG, "encrypted file header truncated");
    if (!all_zero(reserved1, 16)) return veil_err(-EBADMSG, "encrypted file header has unsupported parameters");
    if (h.size > VEIL_ENCFILE_MAX_SIZE) return veil_err(-EBADMSG, "encrypted file header: size out of range");
    memcpy(h.file_id, file_id, VEIL_ENCFILE_FILE_ID_SIZE);
    memcpy(&h.root, root, ENCFILE_ENTRY_SIZE);
    *ret = h;
    return 0;
}

int encfile_header_check_mac(const uint8_t data[ENCFILE_HEADER_SIZE], const uint8_t hdr_key[32],
                             const char *logical_path) {
    uint8_t mac[HDR_MAC_SIZE];
    int r = header_mac(data, hdr_key, logical_path, mac);
    if (r < 0) return r;
    if (!veil_memeq_ct(mac, data + HDR_OFF_MAC, HDR_MAC_SIZE))
        return veil_err(-EACCES, "integrity check failed at the header " ENCFILE_TAMPER_HINT);
    return 0;
}
