/* SPDX-License-Identifier: Apache-2.0 */
/* In-place write-back: the changed nodes, the tree and the header go to a journal, then over the file. */
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "handle.h"
#include "journal.h"

bool encfile_in_place_fits(const struct veil_encfile *f, const struct encfile_geometry *g) {
    if (f->fd < 0 || !f->disk_path) return false;
    uint64_t payload = (uint64_t)f->dirty_count * (ENCFILE_NODE_SIZE + ENCFILE_JOURNAL_RECORD_HEAD) +
                       (g->disk_size - g->offset[1]) + ENCFILE_HEADER_SIZE + ENCFILE_JOURNAL_FIXED;
    /* written twice (journal, file) and synced three times: worth it when it is a small part of the file */
    return payload <= ENCFILE_JOURNAL_MAX && payload * 4 <= f->disk.disk_size;
}

/* The journal's level-0 part: dirty nodes sealed into it; clean ones keep their entries (and their bytes on disk). */
static int journal_data(struct veil_encfile *f, struct encfile_journal *j, const struct encfile_geometry *g,
                        const uint8_t salt[ENCFILE_SALT_SIZE], struct encfile_entry *level0) {
    _cleanup_free_ uint8_t *sealed = malloc(ENCFILE_NODE_SIZE);
    if (!sealed) return -ENOMEM;
    for (uint64_t i = 0; i < g->count[0]; i++) {
        const uint8_t *d = encfile_dirty_find(f, i);
        int r;
        if (d) {
            size_t size = encfile_node_size(g, 0, i);
            r = encfile_seal_node(&f->keys, salt, 0, i, d, size, sealed, &level0[i]);
            if (r >= 0) r = encfile_journal_add(j, encfile_node_offset(g, 0, i), sealed, size);
            if (r < 0) return r;
            continue;
        }
        if (!encfile_node_on_disk(f, i)) continue; /* hole */
        /* a clean node stays where it is, so it must keep its length (a resized last node is always dirty) */
        if (encfile_node_size(&f->disk, 0, i) != encfile_node_size(g, 0, i)) return -EAGAIN;
        const struct encfile_entry *e;
        if ((r = encfile_data_entry(f, i, &e)) < 0) return r;
        level0[i] = *e;
    }
    return 0;
}

/* The tree and the header, sealed into a scratch memory file at their offsets, then into the journal. */
static int journal_tree(struct veil_encfile *f, struct encfile_journal *j, const struct encfile_geometry *g,
                        const uint8_t salt[ENCFILE_SALT_SIZE], const struct encfile_entry *level0,
                        struct encfile_header *header) {
    _cleanup_close_ int scratch = memfd_create("veil-encfile-tree", MFD_CLOEXEC);
    if (scratch < 0) return -errno;
    int r = encfile_write_tree(scratch, &f->keys, salt, g, level0, f->hdr_key, f->logical_path, header);
    if (r < 0) return r;
    size_t tree = (size_t)(g->disk_size - g->offset[1]);
    _cleanup_free_ uint8_t *buf = malloc(MAX(tree, (size_t)ENCFILE_HEADER_SIZE));
    if (!buf) return -ENOMEM;
    /* an empty file's tree is an empty root: nothing to write */
    if (tree && ((r = veil_pread_all(scratch, buf, tree, (off_t)g->offset[1])) < 0 ||
                 (r = encfile_journal_add(j, g->offset[1], buf, tree)) < 0))
        return r;
    if ((r = veil_pread_all(scratch, buf, ENCFILE_HEADER_SIZE, 0)) < 0) return r;
    return encfile_journal_add(j, 0, buf, ENCFILE_HEADER_SIZE); /* the header last */
}

/*
 * A full disk must fail before the commit, not half-way through applying: the
 * blocks the journal will write past the file's current end are allocated now
 * (the file's size is left alone, and so are holes nothing writes to).
 */
static int reserve_growth(int fd, uint64_t end, const struct encfile_journal *j) {
    const uint8_t *p = j->data + ENCFILE_JOURNAL_FIXED;
    for (uint32_t i = 0; i < j->records; i++) {
        uint64_t offset = veil_load_u64le(p), length = veil_load_u32le(p + 8);
        if (offset + length > end) {
            uint64_t from = MAX(offset, end);
            /* other failures (a file system without fallocate) leave it to the writes */
            if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(offset + length - from)) < 0 &&
                (errno == ENOSPC || errno == EFBIG || errno == EDQUOT))
                return veil_err(-errno, "no room to grow the encrypted file");
        }
        p += ENCFILE_JOURNAL_RECORD_HEAD + length;
    }
    return 0;
}

static int sync_directory_of(const char *path) {
    _cleanup_free_ char *d = strdup(path);
    if (!d) return -ENOMEM;
    _cleanup_close_ int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) return -errno;
    return 0;
}

/* Write the journal durably: once this returns 0 the new version is committed. */
static int commit_journal(const char *path, const struct encfile_journal *j) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) return errno == EACCES || errno == EROFS || errno == ELOOP ? -EAGAIN : -errno;
    int r = veil_write_all(fd, j->data, j->size);
    if (r >= 0 && fdatasync(fd) < 0) r = -errno;
    close(fd);
    if (r >= 0) r = sync_directory_of(path);
    if (r < 0) {
        unlink(path);
        return veil_err(r, "cannot write the write-back journal");
    }
    return 0;
}

int encfile_flush_in_place(struct veil_encfile *f, const struct encfile_geometry *g, const uint8_t salt[ENCFILE_SALT_SIZE],
                           struct encfile_entry *level0, struct encfile_header *header) {
    /* the file the handle reads, opened for writing: not whatever the path names by now */
    _cleanup_close_ int target = open(f->disk_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    struct stat a, b;
    if (target < 0 || fstat(target, &a) < 0 || fstat(f->fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return -EAGAIN;
    uint8_t before[ENCFILE_HEADER_SIZE];
    int r = veil_pread_all(f->fd, before, sizeof(before), 0);
    if (r < 0) return r;
    _cleanup_free_ char *path = NULL;
    if ((r = encfile_journal_path(f->disk_path, &path)) < 0) return r;

    struct encfile_journal j;
    if ((r = encfile_journal_begin(&j, f->header.file_id, g->disk_size, before)) < 0) return r;
    r = journal_data(f, &j, g, salt, level0);
    if (r >= 0) r = journal_tree(f, &j, g, salt, level0, header);
    if (r >= 0) r = encfile_journal_seal(&j, f->hdr_key, f->logical_path);
    if (r >= 0) r = reserve_growth(target, (uint64_t)a.st_size, &j);
    if (r >= 0) r = commit_journal(path, &j);
    if (r < 0) {
        encfile_journal_free(&j);
        return r == -EFBIG ? -EAGAIN : r;
    }

    /* committed: from here on the new version is what the file holds, now or after recovery */
    struct encfile_journal_view v;
    r = encfile_journal_parse(j.data, j.size, &v);
    if (r >= 0) r = encfile_journal_apply(&v, target);
    if (r >= 0 && fdatasync(target) < 0) r = -errno;
    encfile_journal_free(&j);
    if (r < 0) {
        f->broken = true;
        return veil_err(r, "the write-back is committed to its journal but could not be applied "
                           "(the next open of the file finishes it)");
    }
    if (unlink(path) < 0) { /* applying it again writes the same bytes; the next write-back replaces it */ }
    return 0;
}
