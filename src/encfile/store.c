/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file store (one pass, one salt, atomic replace) and load (verify and decrypt everything). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "handle.h"

/* Nodes sealed per pwrite (and hashed per run digest of a deterministic store). */
#define STORE_RUN ENCFILE_STORE_RUN

/* Is [offset, offset+size) of fd entirely a hole? Only asked of sparse-capable sources. */
static bool range_is_hole(int fd, uint64_t offset, uint64_t size) {
    off_t data = lseek(fd, (off_t)offset, SEEK_DATA);
    if (data < 0) return errno == ENXIO; /* no data from here to the end */
    return (uint64_t)data >= offset + size;
}

struct store_source {
    const uint8_t *data; /* the plaintext in memory, or NULL to read src_fd */
    int fd;
    struct veil_secbuf *plain; /* STORE_RUN nodes of plaintext read from fd */
    bool sparse;               /* fd answers SEEK_DATA */
    /* deterministic store from an fd that may change: each run is checked against the
     * digest the salt was derived from before it is sealed (store_common sets run_digest) */
    bool recheck;
    const uint8_t (*run_digest)[VEIL_SHA256_SIZE];
};

/* Read the non-hole nodes of the run starting at data node `first` (from fd; memory needs no read). */
static int source_run(struct store_source *src, const struct encfile_geometry *g, uint64_t first, uint64_t count,
                      const bool *hole, const uint8_t **ret) {
    uint64_t offset = first * ENCFILE_NODE_SIZE;
    if (src->data) {
        *ret = src->data + offset;
        return 0;
    }
    for (uint64_t j = 0; j < count; j++) {
        if (hole[j]) continue;
        int r = veil_pread_all(src->fd, src->plain->data + j * ENCFILE_NODE_SIZE, encfile_node_size(g, 0, first + j),
                               (off_t)(offset + j * ENCFILE_NODE_SIZE));
        if (r < 0) return veil_err(r, "cannot read the plaintext: %s", veil_err_msg());
    }
    *ret = src->plain->data;
    return 0;
}

/*
 * The content digest of a deterministic store: SHA-256 of each run of STORE_RUN
 * nodes (kept in `runs`), then SHA-256 over the size and those digests. Runs
 * let the sealing pass check, before it seals anything, that an fd still holds
 * the bytes the salt was derived from.
 */
static int content_digest(struct store_source *src, const struct encfile_geometry *g,
                          uint8_t (*runs)[VEIL_SHA256_SIZE], uint8_t ret[VEIL_SHA256_SIZE]) {
    static const bool no_holes[STORE_RUN];
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = encfile_content_digest_begin(g->size, &h);
    if (r < 0) return r;
    for (uint64_t first = 0; first < g->count[0]; first += STORE_RUN) {
        uint64_t count = MIN((uint64_t)STORE_RUN, g->count[0] - first);
        uint64_t offset = first * ENCFILE_NODE_SIZE;
        const uint8_t *plain;
        if ((r = source_run(src, g, first, count, no_holes, &plain)) < 0) return r;
        uint8_t *digest = runs[first / STORE_RUN];
        if ((r = veil_sha256(plain, (size_t)MIN(count * ENCFILE_NODE_SIZE, g->size - offset), digest)) < 0) return r;
        if ((r = veil_hash_update(h, digest, VEIL_SHA256_SIZE)) < 0) return r;
    }
    return veil_hash_final(h, ret);
}

/* Run digests are unkeyed hashes of plaintext: wiped, not just freed. */
struct run_digests {
    size_t count;
    uint8_t (*digest)[VEIL_SHA256_SIZE];
};

static void run_digests_done(struct run_digests *runs) {
    if (runs->digest) veil_wipe(runs->digest, runs->count * VEIL_SHA256_SIZE);
    free(runs->digest);
}

/* A run's buffer: STORE_RUN nodes, or the whole file when it is smaller (most files are: a
 * 512 KiB buffer mapped, locked and faulted in per small file was most of the cost of
 * encrypting many small files). */
static size_t run_buffer_size(uint64_t file_size) {
    return (size_t)MAX((uint64_t)1, MIN((uint64_t)STORE_RUN * ENCFILE_NODE_SIZE, file_size));
}

static int store_nodes(int out, struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE],
                       const struct encfile_geometry *g, struct store_source *src, struct encfile_entry *level0) {
    _cleanup_free_ uint8_t *sealed = malloc(run_buffer_size(g->size));
    if (!sealed) return -ENOMEM;
    for (uint64_t first = 0; first < g->count[0]; first += STORE_RUN) {
        uint64_t count = MIN((uint64_t)STORE_RUN, g->count[0] - first);
        uint64_t offset = first * ENCFILE_NODE_SIZE;
        size_t size = (size_t)MIN(count * ENCFILE_NODE_SIZE, g->size - offset);
        bool hole[STORE_RUN] = { false };
        const uint8_t *plain;
        int r;

        for (uint64_t j = 0; !src->data && src->sparse && j < count; j++)
            hole[j] = range_is_hole(src->fd, offset + j * ENCFILE_NODE_SIZE, encfile_node_size(g, 0, first + j));
        /* read the non-hole nodes (holes read as zeros anyway, but need not be read) */
        if ((r = source_run(src, g, first, count, hole, &plain)) < 0) return r;
        if (src->run_digest) {
            /* never seal other bytes under a salt derived from these (that would reuse nonces) */
            uint8_t digest[VEIL_SHA256_SIZE];
            if ((r = veil_sha256(plain, size, digest)) < 0) return r;
            bool same = !memcmp(digest, src->run_digest[first / STORE_RUN], sizeof(digest));
            veil_wipe(digest, sizeof(digest));
            if (!same) return veil_err(-EBUSY, "the plaintext changed while it was being stored");
        }
        for (uint64_t j = 0; j < count; j++) {
            if (hole[j]) continue;
            size_t n = encfile_node_size(g, 0, first + j);
            r = encfile_seal_node(k, salt, 0, first + j, plain + j * ENCFILE_NODE_SIZE, n,
                                  sealed + j * ENCFILE_NODE_SIZE, &level0[first + j]);
            if (r < 0) return r;
        }
        /* write each stretch of non-hole nodes with one pwrite, leaving holes unwritten */
        for (uint64_t j = 0; j < count;) {
            if (hole[j]) {
                j++;
                continue;
            }
            uint64_t end = j;
            while (end < count && !hole[end]) end++;
            size_t from = (size_t)(j * ENCFILE_NODE_SIZE), to = MIN((size_t)(end * ENCFILE_NODE_SIZE), size);
            r = veil_pwrite_all(out, sealed + from, to - from, (off_t)(ENCFILE_HEADER_SIZE + offset + from));
            if (r < 0) return veil_err(r, "cannot write the encrypted file");
            j = end;
        }
    }
    return 0;
}

/*
 * Encode the whole file into out (from offset 0; the caller owns the descriptor and
 * what happens to it after): geometry, file id and salt (derived or random), data
 * nodes, tree and header. *ret_disk_size: the encoded file's length.
 */
static int encode_to_fd(int out, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path, uint64_t version,
                        struct store_source *src, uint64_t size, bool deterministic, uint64_t *ret_disk_size) {
    _cleanup_secbuf_ struct veil_secbuf *secret = NULL;
    struct encfile_geometry g;
    struct encfile_header header = { .version = version };
    struct encfile_keys keys;
    uint8_t salt[ENCFILE_SALT_SIZE];
    int r;

    if (!key || !logical_path) return veil_err(-EINVAL, "bad arguments to veil_encfile_store");
    if (strlen(logical_path) > VEIL_ENCFILE_PATH_MAX)
        return veil_err(-EINVAL, "logical path longer than %d bytes", VEIL_ENCFILE_PATH_MAX);
    r = encfile_geometry(size, &g);
    if (r < 0) return r;
    /* volume key, K_hdr, and K_det for a deterministic store */
    r = veil_secbuf_new(3 * 32, &secret);
    if (r < 0) return r;
    memcpy(secret->data, key, VEIL_ENCFILE_KEY_SIZE);
    _cleanup_(run_digests_done) struct run_digests runs = { 0 };
    if (deterministic) {
        uint8_t digest[VEIL_SHA256_SIZE];
        runs.count = (size_t)MAX((uint64_t)1, (g.count[0] + STORE_RUN - 1) / STORE_RUN);
        runs.digest = calloc(runs.count, VEIL_SHA256_SIZE);
        if (!runs.digest) return -ENOMEM;
        r = content_digest(src, &g, runs.digest, digest);
        if (r >= 0) r = encfile_deterministic_ids(secret->data, secret->data + 64, logical_path, version, size, digest, header.file_id, salt);
        veil_wipe(digest, sizeof(digest));
        if (r < 0) return r;
        if (src->recheck) src->run_digest = (const uint8_t (*)[VEIL_SHA256_SIZE])runs.digest;
    } else {
        r = veil_random(header.file_id, sizeof(header.file_id));
        if (r >= 0) r = encfile_new_salt(salt);
        if (r < 0) return r;
    }
    r = encfile_header_key(secret->data, header.file_id, secret->data + 32);
    if (r < 0) return r;
    _cleanup_free_ struct encfile_entry *level0 = calloc(MAX((uint64_t)1, g.count[0]), sizeof(*level0));
    if (!level0) return -ENOMEM;
    encfile_keys_init(&keys, secret->data, header.file_id);
    r = store_nodes(out, &keys, salt, &g, src, level0);
    if (r >= 0)
        r = encfile_write_tree(out, &keys, salt, &g, level0, secret->data + 32, logical_path, &header);
    encfile_keys_done(&keys);
    if (r >= 0 && ret_disk_size) *ret_disk_size = g.disk_size;
    return r;
}

static int store_common(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                        uint64_t version, struct store_source *src, uint64_t size, mode_t mode, bool deterministic) {
    struct veil_atomic_file pending;
    struct stat st;
    if (!disk_path || !key || !logical_path) return veil_err(-EINVAL, "bad arguments to veil_encfile_store");
    /* replacing a file keeps its permissions and, where we may, its owner */
    bool replacing = stat(disk_path, &st) == 0 && S_ISREG(st.st_mode);
    if (replacing) mode = st.st_mode & 07777;
    int r = veil_atomic_begin(disk_path, mode, &pending);
    if (r < 0) return r;
    if (replacing && fchown(pending.fd, st.st_uid, st.st_gid) < 0) { /* best effort: not root */ }
    r = encode_to_fd(pending.fd, key, logical_path, version, src, size, deterministic, NULL);
    if (r < 0) {
        veil_atomic_abort(&pending);
        return r;
    }
    return veil_atomic_commit(&pending);
}

/* A plaintext in memory as a store source (NULL data stands for an empty file). */
static int memory_source(const void *data, size_t size, struct store_source *ret) {
    static const uint8_t empty[1];
    if (!data && size) return veil_err(-EINVAL, "no data to store");
    *ret = (struct store_source){ .data = data ? data : empty, .fd = -1 };
    return 0;
}

static int store_buffer(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                        uint64_t version, const void *data, size_t size, mode_t mode, bool deterministic) {
    struct store_source src;
    int r = memory_source(data, size, &src);
    return r < 0 ? r : store_common(disk_path, key, logical_path, version, &src, size, mode, deterministic);
}

int veil_encfile_store(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                       uint64_t version, const void *data, size_t size, mode_t mode) {
    return store_buffer(disk_path, key, logical_path, version, data, size, mode, false);
}

int veil_encfile_store_deterministic(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                                     const char *logical_path, uint64_t version, const void *data, size_t size,
                                     mode_t mode) {
    return store_buffer(disk_path, key, logical_path, version, data, size, mode, true);
}

int veil_encfile_encode_deterministic(int out_fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                                      uint64_t version, const void *data, size_t size, uint64_t *ret_size) {
    if (out_fd < 0) return veil_err(-EINVAL, "bad arguments to veil_encfile_encode_deterministic");
    struct store_source src;
    int r = memory_source(data, size, &src);
    return r < 0 ? r : encode_to_fd(out_fd, key, logical_path, version, &src, size, true, ret_size);
}

/* A memfd sealed against writes and size changes cannot change under us. */
static bool fd_is_sealed(int fd) {
    const int needed = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & needed) == needed;
}

static int store_from_fd(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                         uint64_t version, int src_fd, mode_t mode, bool deterministic) {
    struct stat st;
    if (fstat(src_fd, &st) < 0) return veil_err(-errno, "cannot stat the plaintext");
    if (S_ISDIR(st.st_mode)) return veil_err(-EISDIR, "the plaintext is a directory");
    if (!S_ISREG(st.st_mode)) return veil_err(-EINVAL, "the plaintext is not a regular file");
    if ((uint64_t)st.st_size > VEIL_ENCFILE_MAX_SIZE)
        return veil_err(-EFBIG, "the plaintext is larger than the format's limit");
    _cleanup_secbuf_ struct veil_secbuf *plain = NULL;
    int r = veil_secbuf_new(run_buffer_size((uint64_t)st.st_size), &plain);
    if (r < 0) return r;
    struct store_source src = { .fd = src_fd, .plain = plain };
    if (deterministic) {
        /* no holes: the output depends on the content only, not on how the source stores it;
         * a source that can change gets each run re-checked before it is sealed */
        src.recheck = !fd_is_sealed(src_fd);
        return store_common(disk_path, key, logical_path, version, &src, (uint64_t)st.st_size, mode, true);
    }
    /* SEEK_DATA moves the offset the caller may share: put it back afterwards */
    off_t saved = lseek(src_fd, 0, SEEK_CUR);
    src.sparse = saved >= 0 && (lseek(src_fd, 0, SEEK_DATA) >= 0 || errno == ENXIO);
    r = store_common(disk_path, key, logical_path, version, &src, (uint64_t)st.st_size, mode, false);
    if (saved >= 0) (void)lseek(src_fd, saved, SEEK_SET);
    return r;
}

int veil_encfile_store_fd(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                          uint64_t version, int src_fd, mode_t mode) {
    return store_from_fd(disk_path, key, logical_path, version, src_fd, mode, false);
}

int veil_encfile_store_fd_deterministic(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                                        const char *logical_path, uint64_t version, int src_fd, mode_t mode) {
    return store_from_fd(disk_path, key, logical_path, version, src_fd, mode, true);
}

static int load_handle(struct veil_encfile *f, struct veil_secbuf **ret_data, uint64_t *ret_version) {
    _cleanup_secbuf_ struct veil_secbuf *data = NULL;
    uint64_t size = veil_encfile_size(f);
    if (size > SIZE_MAX / 2) return veil_err(-EFBIG, "file too large to load");
    int r = veil_secbuf_new((size_t)size, &data);
    if (r < 0) return r;
    ssize_t n = veil_encfile_pread(f, data->data, (size_t)size, 0);
    if (n < 0) return (int)n;
    if ((uint64_t)n != size) return veil_err(-EIO, "short read of the encrypted file");
    if (ret_version) *ret_version = veil_encfile_version(f);
    *ret_data = TAKE_PTR(data);
    return 0;
}

int veil_encfile_load(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                      const uint64_t *pinned_version, struct veil_secbuf **ret_data, uint64_t *ret_version) {
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    int r = veil_encfile_open(disk_path, key, logical_path, 0, pinned_version, &f);
    if (r < 0) return r;
    return load_handle(f, ret_data, ret_version);
}

int veil_encfile_load_fd(int fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                         const uint64_t *pinned_version, struct veil_secbuf **ret_data, uint64_t *ret_version) {
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    int r = veil_encfile_open_fd(fd, key, logical_path, pinned_version, &f);
    if (r < 0) return r;
    return load_handle(f, ret_data, ret_version);
}

static bool all_zero(const uint8_t *p, size_t size) {
    uint64_t acc = 0, word;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        memcpy(&word, p + i, 8);
        acc |= word;
    }
    for (; i < size; i++) acc |= p[i];
    return acc == 0;
}

#define LOAD_CHUNK ((size_t)1 << 20)

int veil_encfile_load_into_fd(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                              const uint64_t *pinned_version, int out_fd, uint64_t *ret_size, uint64_t *ret_version) {
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    _cleanup_secbuf_ struct veil_secbuf *chunk = NULL;
    int r = veil_encfile_open(disk_path, key, logical_path, 0, pinned_version, &f);
    if (r < 0) return r;
    r = veil_secbuf_new(LOAD_CHUNK, &chunk);
    if (r < 0) return r;
    uint64_t size = veil_encfile_size(f);
    if (ftruncate(out_fd, 0) < 0 || ftruncate(out_fd, (off_t)size) < 0)
        return veil_err(-errno, "cannot size the output file");
    for (uint64_t offset = 0; offset < size;) {
        ssize_t n = veil_encfile_pread(f, chunk->data, LOAD_CHUNK, offset);
        if (n <= 0) {
            r = n < 0 ? (int)n : veil_err(-EIO, "short read of the encrypted file");
            goto fail;
        }
        if (!all_zero(chunk->data, (size_t)n) && (r = veil_pwrite_all(out_fd, chunk->data, (size_t)n, (off_t)offset)) < 0) {
            r = veil_err(r, "cannot write the plaintext");
            goto fail;
        }
        offset += (uint64_t)n;
    }
    if (ret_size) *ret_size = size;
    if (ret_version) *ret_version = veil_encfile_version(f);
    return 0;
fail:
    /* no partial plaintext stays behind in the caller's file */
    if (ftruncate(out_fd, 0) < 0) { /* nothing more to do */ }
    return r;
}
