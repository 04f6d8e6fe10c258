/* SPDX-License-Identifier: Apache-2.0 */
/* Incremental write-back: re-seal only the 64 KiB nodes of a decrypted copy that changed since it was stored. */
#include "vault-delta.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/secbuf.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "encfile/encfile.h"

#define NODE VEIL_ENCFILE_NODE_SIZE
/*
 * More changed nodes than this: a whole-file store instead. The handle keeps
 * changed nodes in memory until its flush (and flushes on its own, at a version
 * we did not choose, past VEIL_ENCFILE_DIRTY_LIMIT): 512 nodes = 32 MiB, half of it.
 */
#define DELTA_MAX_CHANGED ((VEIL_ENCFILE_DIRTY_LIMIT / NODE) / 2)

void vault_digests_clear(struct vault_digests *d) {
    free(d->node);
    *d = (struct vault_digests){ 0 };
}

/*
 * Node digests: GMAC (AES-256-GCM over the node as additional data, no
 * plaintext, a fixed nonce) under a random key drawn once per process. Why not
 * SHA-256: hashing every node of the copy is the larger part of an incremental
 * write-back (a 32 MB AOF: ~20 ms with SHA-NI, of ~35 ms), and GHASH runs at
 * several times its speed with VAES/PCLMUL. Why it is enough: the digests only
 * decide which nodes are re-sealed; they never leave this process and are not
 * on disk. Two different node contents (chosen by the application, which
 * cannot see the key, the digests, or anything computed from them) get the
 * same GHASH with probability at most (blocks + 1) / 2^128 = 2^-116 for a
 * 64 KiB node; the fixed nonce only adds the same E_K(J0) to both. A collision
 * would make that node's change not persist at that write-back: the
 * application's own data, never a key/nonce reuse (sealing draws its own salt).
 */
static struct veil_secbuf *digest_key;
static int digest_key_error;
static pthread_once_t digest_key_once = PTHREAD_ONCE_INIT;

static void digest_key_init(void) {
    digest_key_error = veil_secbuf_new(32, &digest_key);
    if (digest_key_error >= 0) digest_key_error = veil_random(digest_key->data, 32);
}

VEIL_DEFINE_CLEANUP(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free, cipher_ctx_freep)

static int digester_new(EVP_CIPHER_CTX **ret) {
    pthread_once(&digest_key_once, digest_key_init);
    if (digest_key_error < 0) return digest_key_error;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return -ENOMEM;
    if (!EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, digest_key->data, NULL)) {
        EVP_CIPHER_CTX_free(ctx);
        return veil_ossl_err(-EIO, "cannot set up the node digest");
    }
    *ret = ctx;
    return 0;
}

static int node_digest(EVP_CIPHER_CTX *ctx, const uint8_t *data, size_t n, uint8_t out[VAULT_DIGEST_SIZE]) {
    static const uint8_t nonce[12];
    uint8_t none[16];
    int len;
    if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) || !EVP_EncryptUpdate(ctx, NULL, &len, data, (int)n) ||
        !EVP_EncryptFinal_ex(ctx, none, &len) ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VAULT_DIGEST_SIZE, out))
        return veil_ossl_err(-EIO, "cannot compute a node digest");
    return 0;
}

static uint64_t node_count(uint64_t size) {
    return (size + NODE - 1) / NODE;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Read node i (n bytes) of a memfd into buf and hash it. A node that lies in a
 * hole of the memfd (SEEK_DATA: a sparse file) is not read: buf is zeroed and
 * its digest is that of a zero node, computed once; so a mostly-empty large
 * file costs what its data costs, as with store_fd.
 */
struct scan {
    EVP_CIPHER_CTX *ctx;
    off_t data;      /* the next data offset at or after the last node asked; -1 = not looked up */
    bool zero_known; /* zero = the digest of a zero node */
    uint8_t zero[VAULT_DIGEST_SIZE];
};

static int hash_node(int fd, uint64_t i, size_t n, uint8_t *buf, struct scan *sc, uint8_t digest[VAULT_DIGEST_SIZE]) {
    off_t start = (off_t)(i * NODE);
    if (n == NODE) {
        if (sc->data < start) {
            sc->data = lseek(fd, start, SEEK_DATA);
            if (sc->data < 0) sc->data = errno == ENXIO ? INT64_MAX : start; /* no SEEK_DATA: read everything */
        }
        if (sc->data >= start + (off_t)NODE) {
            memset(buf, 0, n);
            if (!sc->zero_known) {
                int r = node_digest(sc->ctx, buf, n, sc->zero);
                if (r < 0) return r;
                sc->zero_known = true;
            }
            memcpy(digest, sc->zero, VAULT_DIGEST_SIZE);
            return 0;
        }
    }
    int r = veil_pread_all(fd, buf, n, start);
    return r < 0 ? r : node_digest(sc->ctx, buf, n, digest);
}

static size_t node_size(uint64_t size, uint64_t count, uint64_t i) {
    return (size_t)(i + 1 < count ? NODE : size - i * NODE);
}

/*
 * Digests of every node of a memfd. Reading and hashing the whole copy is most
 * of a write-back's time once the rest follows the change (a 32 MB AOF: ~7 ms
 * of ~8 ms on one thread), so a large copy is split into one range per CPU.
 */
#define SCAN_THREADS_MAX 4
#define SCAN_PARALLEL_MIN_NODES 64 /* 4 MiB: below, a thread costs more than it saves */

struct scan_job {
    int fd;
    uint64_t size, count, first, end; /* the file, and this job's nodes [first, end) */
    uint8_t (*digests)[VAULT_DIGEST_SIZE];
    int result;
};

static void *scan_range(void *arg) {
    struct scan_job *j = arg;
    _cleanup_(veil_secbuf_freep) struct veil_secbuf *buf = NULL;
    _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
    int r = veil_secbuf_new(NODE, &buf);
    if (r >= 0) r = digester_new(&ctx);
    struct scan sc = { .ctx = ctx, .data = -1 };
    for (uint64_t i = j->first; r >= 0 && i < j->end; i++)
        r = hash_node(j->fd, i, node_size(j->size, j->count, i), buf->data, &sc, j->digests[i]);
    j->result = r;
    return NULL;
}

static int digest_all(int fd, uint64_t size, uint8_t (*digests)[VAULT_DIGEST_SIZE]) {
    uint64_t count = node_count(size);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t jobs = count >= SCAN_PARALLEL_MIN_NODES ? (uint64_t)MIN(MAX(cpus, 1L), SCAN_THREADS_MAX) : 1;
    struct scan_job job[SCAN_THREADS_MAX];
    pthread_t thread[SCAN_THREADS_MAX];
    bool started[SCAN_THREADS_MAX] = { false };
    for (uint64_t k = 0; k < jobs; k++) {
        job[k] = (struct scan_job){ .fd = fd, .size = size, .count = count, .first = count * k / jobs,
                                    .end = count * (k + 1) / jobs, .digests = digests };
        /* job 0 runs here; a thread that cannot start leaves its range to this thread too */
        if (k > 0) started[k] = pthread_create(&thread[k], NULL, scan_range, &job[k]) == 0;
    }
    scan_range(&job[0]);
    int r = job[0].result;
    for (uint64_t k = 1; k < jobs; k++) {
        if (started[k]) pthread_join(thread[k], NULL);
        else scan_range(&job[k]);
        if (r >= 0) r = job[k].result;
    }
    return r;
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

int vault_delta_store(const char *disk_path, const uint8_t *key, const char *logical_path, uint64_t version,
                      int memfd, struct vault_digests *d) {
    if (!d->valid) return -EAGAIN;
    struct stat st;
    if (fstat(memfd, &st) < 0) return -errno;
    uint64_t size = (uint64_t)st.st_size, count = node_count(size);
    if (size > VEIL_ENCFILE_MAX_SIZE) return -EAGAIN;

    /* the file must be the very one the digests describe: pinned version, same size */
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    int r = veil_encfile_open(disk_path, key, logical_path, VEIL_ENCFILE_WRITE, &d->version, &f);
    if (r < 0 || veil_encfile_size(f) != d->size) {
        veil_log_debug("incremental write-back of %s not possible (%s): whole file", logical_path,
                       r < 0 ? veil_err_describe(r) : "size differs");
        return -EAGAIN;
    }
    uint8_t (*digests)[VAULT_DIGEST_SIZE] = calloc(count ? count : 1, VAULT_DIGEST_SIZE);
    if (!digests) return -ENOMEM;
    _cleanup_(veil_secbuf_freep) struct veil_secbuf *buf = NULL;
    r = veil_secbuf_new(NODE, &buf);
    if (r >= 0) r = veil_encfile_truncate(f, size);
    uint64_t changed = 0;
    double start = now_ms();
    /* first every node's digest, on every CPU; then the nodes that changed, one by one */
    if (r >= 0) r = digest_all(memfd, size, digests);
    _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
    if (r >= 0) r = digester_new(&ctx);
    for (uint64_t i = 0; r >= 0 && i < count; i++) {
        size_t n = node_size(size, count, i);
        /* a last node that shrank or grew is a different byte string, with another digest */
        if (i < d->count && !memcmp(digests[i], d->node[i], VAULT_DIGEST_SIZE)) continue;
        /*
         * Read it again: its digest and the bytes handed to the handle come from
         * this one read, so the digests kept are of exactly what the flush seals,
         * whatever the application writes meanwhile.
         */
        if ((r = veil_pread_all(memfd, buf->data, n, (off_t)(i * NODE))) < 0 ||
            (r = node_digest(ctx, buf->data, n, digests[i])) < 0)
            break;
        /* past the old end the handle's truncate left holes, which read as zeros */
        if (i * NODE >= d->size && all_zero(buf->data, n)) continue;
        if (++changed > DELTA_MAX_CHANGED) {
            r = -EAGAIN;
            break;
        }
        ssize_t w = veil_encfile_pwrite(f, buf->data, n, i * NODE);
        if (w < 0) r = (int)w;
    }
    double hashed = now_ms();
    if (r >= 0) r = veil_encfile_flush_version(f, version);
    if (r < 0) {
        free(digests);
        /*
         * Whatever failed (a node the handle could not read back, a flush that did not
         * commit, or one that did but could not be reopened), the whole-file store
         * decides, as it did before this path existed; the digests are rebuilt after it.
         */
        if (r != -EAGAIN)
            veil_log_debug("incremental write-back of %s failed (%s): whole file", logical_path, veil_err_describe(r));
        vault_digests_clear(d);
        return -EAGAIN;
    }
    /* the timings say where a write-back's time goes (docs/shield.md) */
    veil_log_debug("wrote back %s incrementally: %llu of %llu nodes re-sealed, version %llu (read+hash %.1f ms, "
                   "seal+write+fsync %.1f ms)", logical_path, (unsigned long long)changed, (unsigned long long)count,
                   (unsigned long long)version, hashed - start, now_ms() - hashed);
    free(d->node);
    *d = (struct vault_digests){ .node = digests, .count = count, .size = size, .version = version, .valid = true };
    return (int)changed;
}

int vault_digests_from_disk(const char *disk_path, const uint8_t *key, const char *logical_path, uint64_t version,
                            struct vault_digests *d) {
    vault_digests_clear(d);
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    int r = veil_encfile_open(disk_path, key, logical_path, VEIL_ENCFILE_READ, &version, &f);
    if (r < 0) return r;
    uint64_t size = veil_encfile_size(f), count = node_count(size);
    uint8_t (*digests)[VAULT_DIGEST_SIZE] = calloc(count ? count : 1, VAULT_DIGEST_SIZE);
    if (!digests) return -ENOMEM;
    _cleanup_(veil_secbuf_freep) struct veil_secbuf *buf = NULL;
    r = veil_secbuf_new(NODE, &buf);
    _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = NULL;
    if (r >= 0) r = digester_new(&ctx);
    for (uint64_t i = 0; r >= 0 && i < count; i++) {
        size_t n = (size_t)(i + 1 < count ? NODE : size - i * NODE);
        ssize_t got = veil_encfile_pread(f, buf->data, n, i * NODE);
        if (got != (ssize_t)n) r = got < 0 ? (int)got : -EIO;
        else r = node_digest(ctx, buf->data, n, digests[i]);
    }
    if (r < 0) {
        free(digests);
        return r;
    }
    *d = (struct vault_digests){ .node = digests, .count = count, .size = size, .version = version, .valid = true };
    return 0;
}

int vault_digests_from_fd(int fd, uint64_t version, struct vault_digests *d) {
    vault_digests_clear(d);
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    uint64_t size = (uint64_t)st.st_size, count = node_count(size);
    uint8_t (*digests)[VAULT_DIGEST_SIZE] = calloc(count ? count : 1, VAULT_DIGEST_SIZE);
    if (!digests) return -ENOMEM;
    int r = digest_all(fd, size, digests);
    if (r < 0) {
        free(digests);
        return r;
    }
    *d = (struct vault_digests){ .node = digests, .count = count, .size = size, .version = version, .valid = true };
    return 0;
}
