/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal deterministic ustar writer for the outer image archive (POSIX.1-1988 header layout). */
#include "ustar.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"

#define BLOCK 512

/* POSIX ustar header: name 0/100, mode 100/8, uid 108/8, gid 116/8, size 124/12, mtime 136/12,
 * chksum 148/8, typeflag 156, linkname 157/100, magic 257/6, version 263/2, ... */
static int make_header(uint8_t h[BLOCK], const char *name, uint64_t size, char type) {
    memset(h, 0, BLOCK);
    size_t n = strlen(name);
    if (n > 100) return veil_err(-ENAMETOOLONG, "archive member name %s is too long", name);
    memcpy(h, name, n);
    snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    if (size < (1ull << 33)) {
        snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    } else {
        /* GNU base-256 for members of 8 GiB and more */
        h[124] = 0x80;
        for (int i = 0; i < 8; i++) h[135 - i] = (uint8_t)(size >> (8 * i));
    }
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return 0;
}

static int put(struct image_ustar *u, const void *data, size_t size) {
    int r = veil_pwrite_all(u->fd, data, size, (off_t)u->offset);
    if (r < 0) return veil_err(r, "writing the output archive");
    u->offset += size;
    return 0;
}

static int pad(struct image_ustar *u) {
    static const uint8_t zeros[BLOCK];
    size_t n = (BLOCK - u->offset % BLOCK) % BLOCK;
    return n ? put(u, zeros, n) : 0;
}

int image_ustar_add_dir(struct image_ustar *u, const char *name) {
    uint8_t h[BLOCK];
    int r = make_header(h, name, 0, '5');
    return r < 0 ? r : put(u, h, BLOCK);
}

int image_ustar_add_file(struct image_ustar *u, const char *name, const void *data, size_t size) {
    uint8_t h[BLOCK];
    int r = make_header(h, name, size, '0');
    if (r < 0 || (r = put(u, h, BLOCK)) < 0 || (r = put(u, data, size)) < 0) return r;
    return pad(u);
}

int image_ustar_begin(struct image_ustar *u, uint64_t *ret_header_offset) {
    static const uint8_t zeros[BLOCK];
    *ret_header_offset = u->offset;
    return put(u, zeros, BLOCK);
}

int image_ustar_end(struct image_ustar *u, uint64_t header_offset, const char *name, uint64_t size) {
    uint8_t h[BLOCK];
    int r = make_header(h, name, size, '0');
    if (r < 0 || (r = pad(u)) < 0) return r;
    r = veil_pwrite_all(u->fd, h, BLOCK, (off_t)header_offset);
    return r < 0 ? veil_err(r, "writing the output archive") : 0;
}

int image_ustar_finish(struct image_ustar *u) {
    static const uint8_t zeros[2 * BLOCK];
    return put(u, zeros, sizeof(zeros));
}
