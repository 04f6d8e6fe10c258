/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: raw AES-256-GCM (EVP, node-sized buffers) against veil's encrypted file format. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "crypto/random.h"
#include "encfile/encfile.h"
/* internal: to time the format's own work (sealing and the tree) apart from file I/O */
#include "encfile/format.h"

#define NODE VEIL_ENCFILE_NODE_SIZE

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15;
static uint64_t next_rand(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static void die(const char *what, int r) {
    fprintf(stderr, "bench-encfile: %s: %s\n", what, veil_err_describe(r));
    exit(1);
}

/* AES-256-GCM over `total` bytes in NODE-sized messages, one keyed context, fresh IV each. */
static double raw_gcm(uint8_t *buf, size_t total, int encrypt) {
    uint8_t key[32] = { 7 }, iv[12] = { 0 }, tag[16] = { 0 };
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt);
    double t0 = now();
    for (size_t off = 0; off < total; off += NODE) {
        int n;
        memcpy(iv, &off, sizeof(off));
        EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, encrypt);
        EVP_CipherUpdate(ctx, buf + off, &n, buf + off, (int)NODE);
        if (encrypt) {
            EVP_CipherFinal_ex(ctx, NULL, &n);
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
        } else {
            /* the tag will not match (we did not keep it); the work is the same */
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
            (void)EVP_CipherFinal_ex(ctx, NULL, &n);
        }
    }
    double t = now() - t0;
    EVP_CIPHER_CTX_free(ctx);
    return (double)total / t / 1e6;
}

/* What store does minus the file writes: seal every node into memory, then the tree (to a memfd). */
static double format_in_memory(const uint8_t *plain, uint8_t *sealed, size_t total, const uint8_t key[32]) {
    struct encfile_keys keys;
    struct encfile_geometry g;
    struct encfile_header header = { .version = 1 };
    uint8_t salt[ENCFILE_SALT_SIZE], hdr_key[32];
    int r, fd = memfd_create("bench-tree", MFD_CLOEXEC);
    if (fd < 0) die("memfd", -errno);
    double t0 = now();
    if ((r = encfile_geometry(total, &g)) < 0 || (r = veil_random(header.file_id, 16)) < 0 ||
        (r = encfile_new_salt(salt)) < 0 || (r = encfile_header_key(key, header.file_id, hdr_key)) < 0)
        die("format", r);
    struct encfile_entry *level0 = calloc(g.count[0], sizeof(*level0));
    encfile_keys_init(&keys, key, header.file_id);
    for (uint64_t i = 0; i < g.count[0]; i++)
        if ((r = encfile_seal_node(&keys, salt, 0, i, plain + i * NODE, encfile_node_size(&g, 0, i), sealed + i * NODE,
                                   &level0[i])) < 0)
            die("seal", r);
    if ((r = encfile_write_tree(fd, &keys, salt, &g, level0, hdr_key, "/bench", &header)) < 0) die("tree", r);
    double t = now() - t0;
    encfile_keys_done(&keys);
    free(level0);
    close(fd);
    return (double)total / t / 1e6;
}

int main(int argc, char **argv) {
    size_t total = (argc > 1 ? (size_t)strtoull(argv[1], NULL, 0) : 256) << 20;
    unsigned random_ops = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 20000;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    char path[256], plain_path[256];
    snprintf(path, sizeof(path), "%s/veil-bench-encfile.%d", base, (int)getpid());
    snprintf(plain_path, sizeof(plain_path), "%s/veil-bench-plain.%d", base, (int)getpid());
    uint8_t key[VEIL_ENCFILE_KEY_SIZE] = { 1, 2, 3 };
    int r;

    uint8_t *buf = aligned_alloc(4096, total);
    if (!buf) die("alloc", -ENOMEM);
    for (size_t i = 0; i < total; i += 8) {
        uint64_t v = next_rand();
        memcpy(buf + i, &v, 8);
    }
    printf("file: %zu MiB in %s, node %zu KiB, random ops: %u x 4 KiB\n", total >> 20, base, NODE >> 10, random_ops);

    /* warm-up, then raw */
    raw_gcm(buf, MIN(total, (size_t)32 << 20), 1);
    double raw_enc = raw_gcm(buf, total, 1), raw_dec = raw_gcm(buf, total, 0);

    for (size_t i = 0; i < total; i += 8) {
        uint64_t v = next_rand();
        memcpy(buf + i, &v, 8);
    }
    uint8_t *sealed = aligned_alloc(4096, total);
    if (!sealed) die("alloc", -ENOMEM);
    memset(sealed, 0, total);
    format_in_memory(buf, sealed, MIN(total, (size_t)32 << 20), key);
    double in_memory = format_in_memory(buf, sealed, total, key);
    free(sealed);

    /* native: write the plaintext file, read it into a fresh buffer */
    double t0 = now();
    int fd = open(plain_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("plain file", -errno);
    for (size_t off = 0; off < total; off += 1 << 20)
        if (pwrite(fd, buf + off, 1 << 20, (off_t)off) != 1 << 20) die("plain file", -EIO);
    fsync(fd);
    double native_write_seq = (double)total / (now() - t0) / 1e6;
    t0 = now();
    uint8_t *fresh = malloc(total);
    for (size_t off = 0; off < total; off += 1 << 20)
        if (pread(fd, fresh + off, 1 << 20, (off_t)off) != 1 << 20) die("plain file", -EIO);
    double native_read_seq = (double)total / (now() - t0) / 1e6;
    free(fresh);

    t0 = now();
    r = veil_encfile_store(path, key, "/bench", 1, buf, total, 0600);
    if (r < 0) die("store", r);
    double enc = (double)total / (now() - t0) / 1e6;

    struct veil_secbuf *out;
    t0 = now();
    r = veil_encfile_load(path, key, "/bench", NULL, &out, NULL);
    if (r < 0) die("load", r);
    double dec = (double)total / (now() - t0) / 1e6;
    if (memcmp(out->data, buf, total)) die("load: wrong plaintext", -EIO);
    veil_secbuf_free(out);

    /* sequential reads through a handle, 1 MiB at a time */
    struct veil_encfile *f;
    r = veil_encfile_open(path, key, "/bench", VEIL_ENCFILE_READ, NULL, &f);
    if (r < 0) die("open", r);
    uint8_t *chunk = malloc(1 << 20);
    t0 = now();
    for (uint64_t off = 0; off < total; off += 1 << 20)
        if (veil_encfile_pread(f, chunk, 1 << 20, off) < 0) die("pread", -EIO);
    double seq_read = (double)total / (now() - t0) / 1e6;

    /* random 4 KiB reads */
    uint8_t page[4096];
    t0 = now();
    for (unsigned i = 0; i < random_ops; i++)
        if (veil_encfile_pread(f, page, sizeof(page), (next_rand() % (total / 4096)) * 4096) != 4096) die("pread", -EIO);
    double rand_read = random_ops / (now() - t0);
    veil_encfile_free(f);

    /* random 4 KiB writes, then the flush that makes them durable (counted) */
    r = veil_encfile_open(path, key, "/bench", VEIL_ENCFILE_WRITE, NULL, &f);
    if (r < 0) die("open", r);
    t0 = now();
    for (unsigned i = 0; i < random_ops; i++)
        if (veil_encfile_pwrite(f, page, sizeof(page), (next_rand() % (total / 4096)) * 4096) != 4096) die("pwrite", -EIO);
    double t_writes = now() - t0;
    r = veil_encfile_flush(f);
    if (r < 0) die("flush", r);
    double rand_write = random_ops / (now() - t0);
    uint64_t versions = veil_encfile_version(f) - 1;
    veil_encfile_free(f);

    /* native: the same operations on the plaintext file in the same place */
    t0 = now();
    for (unsigned i = 0; i < random_ops; i++)
        if (pread(fd, page, sizeof(page), (off_t)((next_rand() % (total / 4096)) * 4096)) != 4096) die("pread", -EIO);
    double native_read = random_ops / (now() - t0);
    t0 = now();
    for (unsigned i = 0; i < random_ops; i++)
        if (pwrite(fd, page, sizeof(page), (off_t)((next_rand() % (total / 4096)) * 4096)) != 4096) die("pwrite", -EIO);
    fsync(fd);
    double native_write = random_ops / (now() - t0);
    close(fd);
    unlink(plain_path);
    unlink(path);

    printf("%-52s %10s %10s %7s\n", "", "raw/native", "veil", "ratio");
    printf("%-52s %10.0f %10.0f %7.2f\n", "encrypt MB/s: GCM seal | format in memory", raw_enc, in_memory, in_memory / raw_enc);
    printf("%-52s %10.0f %10.0f %7.2f\n", "decrypt MB/s: GCM open | pread 1 MiB (page cache)", raw_dec, seq_read, seq_read / raw_dec);
    printf("%-52s %10.0f %10.0f %7.2f\n", "encrypt MB/s: GCM seal | store to file", raw_enc, enc, enc / raw_enc);
    printf("%-52s %10.0f %10.0f %7.2f\n", "decrypt MB/s: GCM open | load into new secbuf", raw_dec, dec, dec / raw_dec);
    printf("%-52s %10.0f %10.0f %7.2f\n", "write MB/s: plaintext file | store to file", native_write_seq, enc, enc / native_write_seq);
    printf("%-52s %10.0f %10.0f %7.2f\n", "read MB/s: plaintext into new buffer | load", native_read_seq, dec, dec / native_read_seq);
    printf("%-52s %10.0f %10.0f %7.2f\n", "random 4 KiB reads/s: plaintext file | pread", native_read, rand_read, rand_read / native_read);
    printf("%-52s %10.0f %10.0f %7.2f\n", "random 4 KiB writes/s: +fsync | +flush", native_write, rand_write, rand_write / native_write);
    printf("(random writes: %.2f s in pwrite, %.2f s in %llu flushes incl. automatic ones at the 64 MiB dirty limit)\n",
           t_writes, random_ops / rand_write - t_writes, (unsigned long long)versions);
    free(chunk);
    free(buf);
    return 0;
}
