/* SPDX-License-Identifier: Apache-2.0 */
/* Finishing an in-place write-back that a crash interrupted, from its journal. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "crypto/random.h"
#include "journal.h"

/* Does this header authenticate as a header of its own (a file that moved on since the journal)? */
static bool header_authenticates(const uint8_t hdr[ENCFILE_HEADER_SIZE], const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                                 const char *logical_path) {
    struct encfile_header h;
    uint8_t hdr_key[32];
    bool ok = encfile_header_parse(hdr, ENCFILE_HEADER_SIZE, &h) >= 0 &&
              encfile_header_key(key, h.file_id, hdr_key) >= 0 &&
              encfile_header_check_mac(hdr, hdr_key, logical_path) >= 0;
    veil_wipe(hdr_key, sizeof(hdr_key));
    veil_err_clear();
    return ok;
}

/*
 * The journal authenticated: apply it when the file is still at the header the
 * journal starts from, already at the one it ends with (applying again writes
 * the same bytes), or at a header that does not authenticate (torn half-way
 * through). A file at another genuine header moved on: the journal is stale.
 */
static int finish(const char *disk_path, const struct encfile_journal_view *v, const uint8_t *key,
                  const char *logical_path, bool *ret_discard) {
    _cleanup_close_ int fd = open(disk_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0 && errno == ENOENT) {
        *ret_discard = true; /* the file is gone: nothing to finish */
        return 0;
    }
    if (fd < 0) return veil_err(-errno, "an interrupted write-back needs write access to finish");
    uint8_t hdr[ENCFILE_HEADER_SIZE] = { 0 };
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    if (n < 0) return veil_err(-errno, "cannot read the file to finish its write-back");
    bool at_either = n == (ssize_t)sizeof(hdr) && (!memcmp(hdr, v->header_before, sizeof(hdr)) ||
                                                    !memcmp(hdr, v->header_after, sizeof(hdr)));
    if (!at_either && n == (ssize_t)sizeof(hdr) && header_authenticates(hdr, key, logical_path)) {
        *ret_discard = true;
        return 0;
    }
    int r = encfile_journal_apply(v, fd);
    if (r >= 0 && fdatasync(fd) < 0) r = veil_err(-errno, "cannot sync the finished write-back");
    if (r < 0) return r;
    *ret_discard = true;
    return 0;
}

int veil_encfile_recover(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path) {
    if (!disk_path || !key || !logical_path) return veil_err(-EINVAL, "bad arguments to veil_encfile_recover");
    _cleanup_free_ char *path = NULL;
    int r = encfile_journal_path(disk_path, &path);
    if (r < 0) return r;
    _cleanup_close_ int jfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (jfd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : veil_err(-errno, "cannot open the write-back journal");
    struct stat st;
    if (fstat(jfd, &st) < 0) return veil_err(-errno, "cannot stat the write-back journal");
    if (!S_ISREG(st.st_mode)) return 0; /* not ours: ignored */
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    r = veil_read_fd(jfd, ENCFILE_JOURNAL_MAX, &data, &size);
    if (r == -EFBIG) { /* larger than any we write: ignored */
        veil_err_clear();
        return 0;
    }
    if (r < 0) return veil_err(r, "cannot read the write-back journal");
    /*
     * A journal that does not parse or authenticate is left alone and ignored:
     * torn by a crash while it was written (the file was not touched yet), or
     * not ours. Deleting it is not ours to decide either: the caller may simply
     * have the wrong key or path. The next in-place write-back replaces it.
     */
    struct encfile_journal_view v;
    uint8_t hdr_key[32];
    if (encfile_journal_parse(data, size, &v) < 0 || encfile_header_key(key, v.file_id, hdr_key) < 0) {
        veil_err_clear();
        return 0;
    }
    r = encfile_journal_check_mac(data, size, hdr_key, logical_path);
    veil_wipe(hdr_key, sizeof(hdr_key));
    if (r < 0) {
        veil_err_clear();
        return 0;
    }
    bool discard = false;
    r = finish(disk_path, &v, key, logical_path, &discard);
    if (r < 0) return r;
    /* finished or stale: without it, the file reads the same */
    if (discard && unlink(path) < 0 && errno != ENOENT) { /* the next write-back replaces it */ }
    return 0;
}

void veil_encfile_remove_journal(const char *disk_path) {
    _cleanup_free_ char *path = NULL;
    if (disk_path && encfile_journal_path(disk_path, &path) >= 0) unlink(path);
}
