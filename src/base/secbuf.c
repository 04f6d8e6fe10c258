/* SPDX-License-Identifier: Apache-2.0 */
/* Secret buffers in dedicated, non-dumpable, wiped mappings. */
#include "secbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"

void veil_wipe(void *p, size_t size) {
    if (!p || !size) return;
    /* explicit_bzero is glibc/musl; a volatile function pointer keeps it from being elided elsewhere */
    explicit_bzero(p, size);
}

static size_t page_round(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size == 0) size = 1;
    if (size > SIZE_MAX - page) return 0;
    return (size + page - 1) / page * page;
}

static int map_secret(size_t size, uint8_t **ret_data, size_t *ret_map, int *ret_locked) {
    size_t map_size = page_round(size);
    if (!map_size) return -ENOMEM;
    void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -errno;
    /* keep secrets out of core dumps and out of child processes */
    (void)madvise(p, map_size, MADV_DONTDUMP);
    (void)madvise(p, map_size, MADV_DONTFORK);
    *ret_locked = mlock(p, map_size) == 0;
    *ret_data = p;
    *ret_map = map_size;
    return 0;
}

static void unmap_secret(uint8_t *data, size_t map_size, int locked) {
    veil_wipe(data, map_size);
    if (locked) munlock(data, map_size);
    munmap(data, map_size);
}

int veil_secbuf_new(size_t size, struct veil_secbuf **ret) {
    struct veil_secbuf *b = calloc(1, sizeof(*b));
    if (!b) return -ENOMEM;
    int r = map_secret(size, &b->data, &b->map_size, &b->locked);
    if (r < 0) {
        free(b);
        return veil_err(r, "cannot map %zu bytes for a secret buffer", size);
    }
    b->size = size;
    *ret = b;
    return 0;
}

int veil_secbuf_dup(const void *data, size_t size, struct veil_secbuf **ret) {
    struct veil_secbuf *b;
    int r = veil_secbuf_new(size, &b);
    if (r < 0) return r;
    if (size) memcpy(b->data, data, size);
    *ret = b;
    return 0;
}

int veil_secbuf_resize(struct veil_secbuf *b, size_t size) {
    if (size <= b->map_size) {
        if (size < b->size) veil_wipe(b->data + size, b->size - size);
        b->size = size;
        return 0;
    }
    uint8_t *data;
    size_t map_size;
    int locked;
    int r = map_secret(size, &data, &map_size, &locked);
    if (r < 0) return r;
    memcpy(data, b->data, b->size);
    unmap_secret(b->data, b->map_size, b->locked);
    b->data = data;
    b->map_size = map_size;
    b->locked = locked;
    b->size = size;
    return 0;
}

void veil_secbuf_free(struct veil_secbuf *b) {
    if (!b) return;
    unmap_secret(b->data, b->map_size, b->locked);
    free(b);
}
