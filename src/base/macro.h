/* SPDX-License-Identifier: Apache-2.0 */
/* Small language helpers shared by every module: attributes, cleanup, ownership transfer. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _warn_unused_ __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership of a cleanup-managed pointer or fd to someone else. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _taken = (p);                                                                \
        (p) = NULL;                                                                                \
        _taken;                                                                                    \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _taken = (fd);                                                                         \
        (fd) = -1;                                                                                 \
        _taken;                                                                                    \
    })

/* Defines a cleanup function `name(type *p)` that calls `func(*p)` when *p is not the empty value. */
#define VEIL_DEFINE_CLEANUP(type, func, name)                                                      \
    static inline void name(type *p) {                                                             \
        if (*p) func(*p);                                                                          \
    }

static inline void veil_freep(void *p) {
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(veil_freep)

static inline void veil_closep(int *fd) {
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
#define _cleanup_close_ _cleanup_(veil_closep)

/* Add two sizes, failing instead of wrapping. */
static inline int veil_size_add(size_t a, size_t b, size_t *ret) {
    if (a > SIZE_MAX - b) return -EOVERFLOW;
    *ret = a + b;
    return 0;
}

static inline int veil_size_mul(size_t a, size_t b, size_t *ret) {
    if (b != 0 && a > SIZE_MAX / b) return -EOVERFLOW;
    *ret = a * b;
    return 0;
}
