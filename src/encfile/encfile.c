/* SPDX-License-Identifier: Apache-2.0 */
/* Opening an encrypted file: header authentication, version pin, length check; info and teardown. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/random.h"
#include "handle.h"

void encfile_free_tree(struct veil_encfile *f) {
    for (unsigned k = 0; k <= ENCFILE_MAX_DEPTH; k++) {
        free(f->entries[k]);
        free(f->loaded[k]);
        f->entries[k] = NULL;
        f->loaded[k] = NULL;
    }
}

/* Entry arrays for the disk geometry; nothing loaded yet. Large arrays are
 * calloc'd (lazily backed by the kernel), so a sparse 1 TiB file costs only the
 * pages its reads touch. */
int encfile_alloc_tree(struct veil_encfile *f) {
    for (unsigned k = 1; k <= f->disk.depth; k++) {
        f->entries[k] = calloc(MAX((uint64_t)1, f->disk.count[k - 1]), sizeof(struct encfile_entry));
        f->loaded[k] = calloc(f->disk.count[k], 1);
        if (!f->entries[k] || !f->loaded[k]) return -ENOMEM;
    }
    return 0;
}

int encfile_check_usable(const struct veil_encfile *f) {
    return f->broken ? veil_err(-EIO, "the handle lost its file after a flush; reopen it") : 0;
}

void veil_encfile_free(struct veil_encfile *f) {
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    encfile_dirty_free(f);
    encfile_keys_done(&f->keys);
    encfile_free_tree(f);
    veil_secbuf_free(f->secret);
    free(f->disk_path);
    free(f->logical_path);
    free(f);
}

static int read_header(struct veil_encfile *f, const uint64_t *pinned_version) {
    struct stat st;
    uint8_t hdr[ENCFILE_HEADER_SIZE];
    int r;

    if (fstat(f->fd, &st) < 0) return veil_err(-errno, "cannot stat the encrypted file");
    if (S_ISDIR(st.st_mode)) return veil_err(-EISDIR, "is a directory, not an encrypted file");
    if (!S_ISREG(st.st_mode)) return veil_err(-EINVAL, "not a regular file");
    f->mode = st.st_mode & 07777;
    f->uid = st.st_uid;
    f->gid = st.st_gid;
    if (st.st_size < ENCFILE_HEADER_SIZE) return veil_err(-EBADMSG, "not an encrypted veil file (too short)");
    r = veil_pread_all(f->fd, hdr, sizeof(hdr), 0);
    if (r < 0) return r;
    r = encfile_header_parse(hdr, sizeof(hdr), &f->header);
    if (r < 0) return r;
    r = encfile_header_key(f->volume_key, f->header.file_id, f->hdr_key);
    if (r < 0) return r;
    /* nothing past the fixed parameters is trusted before this check */
    r = encfile_header_check_mac(hdr, f->hdr_key, f->logical_path);
    if (r < 0) return r;
    if (pinned_version && f->header.version != *pinned_version)
        return veil_err(-EACCES, "integrity check failed: file is at version %llu, expected %llu (rolled back or replaced)",
                        (unsigned long long)f->header.version, (unsigned long long)*pinned_version);
    r = encfile_geometry(f->header.size, &f->disk);
    if (r < 0) return veil_err(-EBADMSG, "encrypted file header: bad size");
    if ((uint64_t)st.st_size != f->disk.disk_size)
        return veil_err(-EBADMSG, "file is %llu bytes but its header says %llu (truncated or extended)",
                        (unsigned long long)st.st_size, (unsigned long long)f->disk.disk_size);
    return 0;
}

static int start_new(struct veil_encfile *f) {
    int r = veil_random(f->header.file_id, sizeof(f->header.file_id));
    if (r < 0) return r;
    r = encfile_header_key(f->volume_key, f->header.file_id, f->hdr_key);
    if (r < 0) return r;
    f->mode = 0600;
    f->uid = geteuid();
    f->gid = getegid();
    return encfile_geometry(0, &f->disk);
}

static int open_common(int fd, const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                       const char *logical_path, unsigned flags, const uint64_t *pinned_version,
                       struct veil_encfile **ret) {
    /* owns fd from here on */
    _cleanup_close_ int owned_fd = fd;
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    int r;

    if (!key || !logical_path || (flags & ~(unsigned)(VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE)))
        return veil_err(-EINVAL, "bad arguments to veil_encfile_open");
    if (strlen(logical_path) > VEIL_ENCFILE_PATH_MAX)
        return veil_err(-EINVAL, "logical path longer than %d bytes", VEIL_ENCFILE_PATH_MAX);
    f = calloc(1, sizeof(*f));
    if (!f) return -ENOMEM;
    f->fd = TAKE_FD(owned_fd);
    f->writable = flags & VEIL_ENCFILE_WRITE;
    f->logical_path = strdup(logical_path);
    if (disk_path && !(f->disk_path = strdup(disk_path))) return -ENOMEM;
    if (!f->logical_path) return -ENOMEM;
    r = veil_secbuf_new(2 * 32 + ENCFILE_NODE_SIZE, &f->secret);
    if (r < 0) return r;
    f->volume_key = f->secret->data;
    f->hdr_key = f->secret->data + 32;
    f->cache = f->secret->data + 64;
    memcpy(f->volume_key, key, VEIL_ENCFILE_KEY_SIZE);

    r = fd >= 0 ? read_header(f, pinned_version) : start_new(f);
    if (r < 0) return r;
    encfile_keys_init(&f->keys, f->volume_key, f->header.file_id);
    r = encfile_alloc_tree(f);
    if (r < 0) return r;
    f->size = f->disk.size;
    f->keep_below = f->disk.count[0];
    *ret = TAKE_PTR(f);
    return 0;
}

int veil_encfile_open(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                      unsigned flags, const uint64_t *pinned_version, struct veil_encfile **ret) {
    if (!disk_path) return veil_err(-EINVAL, "no path given");
    if ((flags & VEIL_ENCFILE_CREATE) && !(flags & VEIL_ENCFILE_WRITE))
        return veil_err(-EINVAL, "VEIL_ENCFILE_CREATE needs VEIL_ENCFILE_WRITE");
    if (flags & ~(unsigned)(VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE)) return veil_err(-EINVAL, "unknown open flags");
    if (!key || !logical_path) return veil_err(-EINVAL, "bad arguments to veil_encfile_open");
    /* an in-place write-back a crash interrupted is finished first */
    int r = veil_encfile_recover(disk_path, key, logical_path);
    if (r < 0) return r;
    int fd = open(disk_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        if (r != -ENOENT || !(flags & VEIL_ENCFILE_CREATE)) return veil_err(r, "cannot open the file");
        /* a missing file is a deletion the caller can only accept when it expects none */
        if (pinned_version && *pinned_version != 0)
            return veil_err(-EACCES, "integrity check failed: file is missing but version %llu is expected",
                            (unsigned long long)*pinned_version);
    }
    return open_common(fd, disk_path, key, logical_path, flags, pinned_version, ret);
}

int veil_encfile_open_fd(int fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                         const uint64_t *pinned_version, struct veil_encfile **ret) {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return veil_err(-errno, "cannot duplicate the file descriptor");
    return open_common(copy, NULL, key, logical_path, 0, pinned_version, ret);
}

uint64_t veil_encfile_size(const struct veil_encfile *f) {
    return f->size;
}

uint64_t veil_encfile_version(const struct veil_encfile *f) {
    return f->header.version;
}

static void info_from(const struct encfile_header *h, const struct encfile_geometry *g, struct veil_encfile_info *ret) {
    *ret = (struct veil_encfile_info){
        .format_version = ENCFILE_FORMAT_VERSION,
        .version = h->version,
        .size = h->size,
        .data_node_count = g->count[0],
        .tree_depth = g->depth,
        .disk_size = g->disk_size,
    };
    for (unsigned k = 1; k <= g->depth; k++) ret->tree_node_count += g->count[k];
    memcpy(ret->file_id, h->file_id, sizeof(ret->file_id));
}

void veil_encfile_get_info(const struct veil_encfile *f, struct veil_encfile_info *ret) {
    info_from(&f->header, &f->disk, ret);
    ret->authenticated = true;
}

int veil_encfile_peek(int fd, struct veil_encfile_info *ret) {
    struct stat st;
    uint8_t hdr[ENCFILE_HEADER_SIZE];
    struct encfile_header h;
    struct encfile_geometry g;
    if (fstat(fd, &st) < 0) return -errno;
    if (S_ISDIR(st.st_mode)) return veil_err(-EISDIR, "is a directory, not an encrypted file");
    if (st.st_size < ENCFILE_HEADER_SIZE) return veil_err(-EBADMSG, "not an encrypted veil file (too short)");
    int r = veil_pread_all(fd, hdr, sizeof(hdr), 0);
    if (r < 0) return r;
    r = encfile_header_parse(hdr, sizeof(hdr), &h);
    if (r < 0) return r;
    r = encfile_geometry(h.size, &g);
    if (r < 0) return veil_err(-EBADMSG, "encrypted file header: bad size");
    info_from(&h, &g, ret);
    ret->disk_size = (uint64_t)st.st_size;
    ret->authenticated = false;
    return 0;
}
