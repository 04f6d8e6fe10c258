/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the SNP certificate table through the bounded cursor (GHCB spec, Table 9). */
#include "snp-certtable.h"

#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

/* GUIDs as the table stores them (little-endian first three fields). */
static const uint8_t known_guids[4][16] = {
    /* VCEK 63da758d-e664-4564-adc5-f4b93be8accd */
    { 0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd },
    /* VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    { 0xc2, 0x4b, 0x07, 0xa8, 0x5a, 0xa2, 0x3e, 0x48, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 },
    /* ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    { 0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 },
    /* ARK c0b406a4-a803-4952-9743-3fb6014cd0ae */
    { 0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae },
};

int veil_snp_certtable_add(const uint8_t *table, size_t size, struct veil_collateral *coll) {
    struct veil_cursor c = veil_cursor_make(table, size);
    static const uint8_t zero[16];
    for (unsigned i = 0;; i++) {
        uint8_t guid[16];
        uint32_t offset, length;
        if (veil_cursor_read(&c, guid, 16) < 0 || veil_cursor_u32le(&c, &offset) < 0 ||
            veil_cursor_u32le(&c, &length) < 0)
            return veil_err(-EBADMSG, "SNP certificate table: entry %u truncated", i);
        if (!memcmp(guid, zero, 16)) return 0;
        if (i >= VEIL_SNP_CERTTABLE_MAX_ENTRIES)
            return veil_err(-EBADMSG, "SNP certificate table: more than %d entries", VEIL_SNP_CERTTABLE_MAX_ENTRIES);
        bool known = false;
        for (size_t k = 0; k < ELEMENTSOF(known_guids); k++) known = known || !memcmp(guid, known_guids[k], 16);
        if (!known) continue;
        struct veil_cursor cert = veil_cursor_make(table, size);
        const uint8_t *der;
        if (veil_cursor_seek(&cert, offset) < 0 || veil_cursor_borrow(&cert, length, &der) < 0)
            return veil_err(-EBADMSG, "SNP certificate table: entry %u (offset %u, length %u) is outside the table", i,
                            offset, length);
        int r = veil_collateral_add(coll, der, length, "SNP certificate table");
        if (r < 0) return r;
    }
}
