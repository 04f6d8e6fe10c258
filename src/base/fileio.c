/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with caps, and the write-fsync-rename-fsync protocol for crash-safe replacement. */
#include "fileio.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int veil_read_fd(int fd, size_t max_size, uint8_t **ret_data, size_t *ret_size) {
    size_t cap = 4096, size = 0;
    uint8_t *data = malloc(cap + 1);
    if (!data) return -ENOMEM;
    for (;;) {
        if (size == cap) {
            if (cap > max_size) {
                free(data);
                return veil_err(-EFBIG, "input larger than %zu bytes", max_size);
            }
            size_t ncap = cap * 2;
            uint8_t *p = realloc(data, ncap + 1);
            if (!p) {
                free(data);
                return -ENOMEM;
            }
            data = p;
            cap = ncap;
        }
        ssize_t n = read(fd, data + size, cap - size);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = -errno;
            free(data);
            return e;
        }
        if (n == 0) break;
        size += (size_t)n;
        if (size > max_size) {
            free(data);
            return veil_err(-EFBIG, "input larger than %zu bytes", max_size);
        }
    }
    data[size] = 0;
    *ret_data = data;
    *ret_size = size;
    return 0;
}

int veil_read_file(const char *path, size_t max_size, uint8_t **ret_data, size_t *ret_size) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return veil_err(-errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) return veil_err(-errno, "%s", path);
    if (S_ISDIR(st.st_mode)) return veil_err(-EISDIR, "%s is a directory", path);
    if (!S_ISREG(st.st_mode)) return veil_err(-EINVAL, "%s is not a regular file", path);
    if ((uint64_t)st.st_size > max_size)
        return veil_err(-EFBIG, "%s is larger than %zu bytes", path, max_size);
    int r = veil_read_fd(fd, max_size, ret_data, ret_size);
    if (r < 0) return veil_err(r, "%s: %s", path, veil_err_msg());
    return 0;
}

int veil_write_all(int fd, const void *data, size_t size) {
    const uint8_t *p = data;
    while (size) {
        ssize_t n = write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

int veil_pread_all(int fd, void *data, size_t size, off_t offset) {
    uint8_t *p = data;
    while (size) {
        ssize_t n = pread(fd, p, size, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) return veil_err(-EBADMSG, "file truncated at offset %lld", (long long)offset);
        p += n;
        size -= (size_t)n;
        offset += n;
    }
    return 0;
}

int veil_pwrite_all(int fd, const void *data, size_t size, off_t offset) {
    const uint8_t *p = data;
    while (size) {
        ssize_t n = pwrite(fd, p, size, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        size -= (size_t)n;
        offset += n;
    }
    return 0;
}

static void atomic_free(struct veil_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->dir_fd >= 0) close(f->dir_fd);
    free(f->path);
    free(f->tmp_name);
    free(f->base_name);
    *f = (struct veil_atomic_file){ .fd = -1, .dir_fd = -1 };
}

int veil_atomic_begin(const char *path, mode_t mode, struct veil_atomic_file *ret) {
    struct veil_atomic_file f = { .fd = -1, .dir_fd = -1 };
    int r;
    f.path = strdup(path);
    char *d = strdup(path), *b = strdup(path);
    if (!f.path || !d || !b) {
        free(d);
        free(b);
        atomic_free(&f);
        return -ENOMEM;
    }
    f.base_name = strdup(basename(b));
    f.dir_fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = -errno;
    free(d);
    free(b);
    if (!f.base_name) {
        atomic_free(&f);
        return -ENOMEM;
    }
    if (f.dir_fd < 0) {
        atomic_free(&f);
        return veil_err(r, "cannot open the directory of %s", path);
    }
    struct stat st;
    if (fstatat(f.dir_fd, f.base_name, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
        atomic_free(&f);
        return veil_err(-EISDIR, "%s is a directory", path);
    }
    f.fd = openat(f.dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (f.fd < 0) {
        /* no O_TMPFILE here: fall back to a random visible name, removed on failure */
        for (int attempt = 0; attempt < 16 && f.fd < 0; attempt++) {
            free(f.tmp_name);
            if (asprintf(&f.tmp_name, ".%s.%08x%08x.tmp", f.base_name, (unsigned)random(),
                         (unsigned)getpid()) < 0) {
                f.tmp_name = NULL;
                atomic_free(&f);
                return -ENOMEM;
            }
            f.fd = openat(f.dir_fd, f.tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
            if (f.fd < 0 && errno != EEXIST) break;
        }
        if (f.fd < 0) {
            r = -errno;
            atomic_free(&f);
            return veil_err(r, "cannot create a file next to %s", path);
        }
    } else if (fchmod(f.fd, mode) < 0) {
        r = -errno;
        atomic_free(&f);
        return r;
    }
    *ret = f;
    return 0;
}

int veil_atomic_commit(struct veil_atomic_file *f) {
    int r;
    if (fsync(f->fd) < 0) {
        r = veil_err(-errno, "fsync %s", f->path);
        veil_atomic_abort(f);
        return r;
    }
    if (f->tmp_name) {
        if (renameat(f->dir_fd, f->tmp_name, f->dir_fd, f->base_name) < 0) {
            r = veil_err(-errno, "rename onto %s", f->path);
            veil_atomic_abort(f);
            return r;
        }
    } else {
        /* O_TMPFILE: link under a random name, then rename over the target */
        char proc[64], tmp[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
        for (int attempt = 0;; attempt++) {
            snprintf(tmp, sizeof(tmp), ".veil.%08x%08x.tmp", (unsigned)random(), (unsigned)getpid());
            if (linkat(AT_FDCWD, proc, f->dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0) break;
            if (errno != EEXIST || attempt > 16) {
                r = veil_err(-errno, "link %s", f->path);
                veil_atomic_abort(f);
                return r;
            }
        }
        if (renameat(f->dir_fd, tmp, f->dir_fd, f->base_name) < 0) {
            r = veil_err(-errno, "rename onto %s", f->path);
            unlinkat(f->dir_fd, tmp, 0);
            veil_atomic_abort(f);
            return r;
        }
    }
    free(f->tmp_name);
    f->tmp_name = NULL;
    r = fsync(f->dir_fd) < 0 ? veil_err(-errno, "fsync directory of %s", f->path) : 0;
    atomic_free(f);
    return r;
}

void veil_atomic_abort(struct veil_atomic_file *f) {
    if (f->tmp_name && f->dir_fd >= 0) unlinkat(f->dir_fd, f->tmp_name, 0);
    atomic_free(f);
}

int veil_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
    struct veil_atomic_file f;
    int r = veil_atomic_begin(path, mode, &f);
    if (r < 0) return r;
    r = veil_write_all(f.fd, data, size);
    if (r < 0) {
        veil_atomic_abort(&f);
        return veil_err(r, "write %s", path);
    }
    return veil_atomic_commit(&f);
}

void veil_hex_encode(const void *data, size_t size, char *out) {
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * size] = 0;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int veil_hex_decode(const char *hex, void *out, size_t size) {
    uint8_t *p = out;
    if (strlen(hex) != 2 * size) return veil_err(-EBADMSG, "expected %zu hex digits", 2 * size);
    for (size_t i = 0; i < size; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return veil_err(-EBADMSG, "not a hex digit at position %zu", 2 * i);
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
