/* SPDX-License-Identifier: Apache-2.0 */
/* Random reads, writes, truncations, flushes and reopens, checked against a plaintext model (seeded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
#define MODEL_MAX ((size_t)40 * N) /* sizes up to 2.5 MiB: many nodes, quick flushes */
static char *dir;

/* Offsets cluster around node boundaries, where the bugs live. */
static uint64_t pick_offset(uint64_t *s, uint64_t limit) {
    if (!limit) return 0;
    switch (test_rand(s) % 3) {
    case 0: return test_rand(s) % limit;
    case 1: {
        uint64_t node = test_rand(s) % (limit / N + 1), delta = test_rand(s) % 9;
        uint64_t at = node * N + delta >= 4 ? node * N + delta - 4 : 0; /* no MIN() around test_rand: it evaluates twice */
        return MIN(at, limit);
    }
    default: {
        uint64_t back = test_rand(s) % 100;
        return limit - MIN(limit, back);
    }
    }
}

static size_t pick_length(uint64_t *s) {
    switch (test_rand(s) % 4) {
    case 0: return (size_t)(test_rand(s) % 16);
    case 1: return (size_t)(test_rand(s) % (2 * N));
    case 2: return N;
    default: return (size_t)(test_rand(s) % (5 * N));
    }
}

static void check_all(struct veil_encfile *f, const uint8_t *model, size_t size) {
    assert_int_equal(veil_encfile_size(f), size);
    uint8_t *buf = malloc(size + 1);
    assert_int_equal(veil_encfile_pread(f, buf, size + 1, 0), size);
    assert_memory_equal(buf, model, size);
    free(buf);
}

static void run_seed(uint64_t seed, unsigned ops) {
    char *path = test_path(dir, "model.enc");
    unlink(path);
    uint8_t *model = calloc(1, MODEL_MAX), *buf = malloc(MODEL_MAX + 5 * N);
    size_t size = 0;
    uint64_t s = seed, version = 0;
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/m", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    unsigned flushes = 0, reopens = 0;
    for (unsigned op = 0; op < ops; op++) {
        unsigned kind = (unsigned)(test_rand(&s) % 100);
        if (kind < 40) { /* write, possibly past the end */
            uint64_t at = pick_offset(&s, MIN(size + N + 7, MODEL_MAX - 1));
            size_t len = pick_length(&s);
            len = MIN(len, MODEL_MAX - (size_t)at);
            test_fill(buf, len, test_rand(&s));
            assert_int_equal(veil_encfile_pwrite(f, buf, len, at), len);
            memcpy(model + at, buf, len);
            if (len && at + len > size) size = (size_t)(at + len);
        } else if (kind < 75) { /* read anywhere, including past the end */
            uint64_t at = pick_offset(&s, size + 10);
            size_t len = pick_length(&s);
            size_t want = at >= size ? 0 : MIN(len, size - (size_t)at);
            assert_int_equal(veil_encfile_pread(f, buf, len, at), want);
            if (want) assert_memory_equal(buf, model + at, want);
        } else if (kind < 85) { /* truncate: shrink or extend */
            size_t to = (size_t)pick_offset(&s, MIN(2 * size + 3 * N, MODEL_MAX));
            assert_int_equal(veil_encfile_truncate(f, to), 0);
            if (to < size) memset(model + to, 0, size - to);
            size = to;
        } else if (kind < 95) {
            assert_int_equal(veil_encfile_flush(f), 0);
            assert_true(veil_encfile_version(f) >= version); /* +1 when something changed */
            assert_true(veil_encfile_version(f) <= version + 1);
            version = veil_encfile_version(f);
            flushes++;
        } else { /* close (flushing) and reopen with the version pinned */
            assert_int_equal(veil_encfile_close(f), 0);
            struct veil_encfile *g;
            if (access(path, F_OK) == 0) {
                uint64_t pin;
                struct veil_encfile_info info;
                assert_int_equal(veil_encfile_open(path, test_key, "/m", VEIL_ENCFILE_READ, NULL, &g), 0);
                veil_encfile_get_info(g, &info);
                pin = info.version;
                veil_encfile_free(g);
                assert_int_equal(veil_encfile_open(path, test_key, "/m", VEIL_ENCFILE_WRITE, &pin, &f), 0);
                assert_int_equal(veil_encfile_verify(f), 0);
            } else
                assert_int_equal(veil_encfile_open(path, test_key, "/m", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
            version = veil_encfile_version(f);
            reopens++;
        }
        if (op % 64 == 0) check_all(f, model, size);
    }
    check_all(f, model, size);
    assert_int_equal(veil_encfile_close(f), 0);
    if (access(path, F_OK) == 0) {
        struct veil_secbuf *out;
        assert_int_equal(veil_encfile_load(path, test_key, "/m", NULL, &out, NULL), 0);
        assert_int_equal(out->size, size);
        assert_memory_equal(out->data, model, size);
        veil_secbuf_free(out);
    }
    print_message("# seed %llu: %u ops, %u flushes, %u reopens, final size %zu\n", (unsigned long long)seed, ops,
                  flushes, reopens, size);
    free(model);
    free(buf);
    unlink(path);
    free(path);
}

static void test_model(void **state) {
    (void)state;
    const char *env = getenv("VEIL_TEST_SEED");
    if (env) {
        run_seed(strtoull(env, NULL, 0), 3000);
        return;
    }
    const uint64_t seeds[] = { 1, 2, 3, 0xdeadbeef, 20261128 };
    for (size_t i = 0; i < ELEMENTSOF(seeds); i++) run_seed(seeds[i], 800);
}

/*
 * The same against a large sparse file (two tree levels): the model keeps only
 * the 4 KiB pages that were written; every other byte is zero.
 */
#define SPARSE_MAX ((uint64_t)300 << 20)
#define MPAGE 4096
static uint8_t *sparse_pages[SPARSE_MAX / MPAGE + 1];

static void sparse_model_write(uint64_t at, const uint8_t *data, size_t len) {
    for (size_t done = 0; done < len;) {
        uint64_t page = (at + done) / MPAGE;
        size_t in = (size_t)((at + done) % MPAGE), n = MIN(MPAGE - in, len - done);
        if (!sparse_pages[page]) sparse_pages[page] = calloc(1, MPAGE);
        memcpy(sparse_pages[page] + in, data + done, n);
        done += n;
    }
}

static void sparse_model_read(uint64_t at, uint8_t *out, size_t len) {
    for (size_t done = 0; done < len;) {
        uint64_t page = (at + done) / MPAGE;
        size_t in = (size_t)((at + done) % MPAGE), n = MIN(MPAGE - in, len - done);
        if (sparse_pages[page])
            memcpy(out + done, sparse_pages[page] + in, n);
        else
            memset(out + done, 0, n);
        done += n;
    }
}

static void sparse_model_truncate(uint64_t old, uint64_t to) {
    if (to >= old) return;
    for (uint64_t page = (to + MPAGE - 1) / MPAGE; page <= old / MPAGE; page++) {
        free(sparse_pages[page]);
        sparse_pages[page] = NULL;
    }
    if (to % MPAGE && sparse_pages[to / MPAGE]) memset(sparse_pages[to / MPAGE] + to % MPAGE, 0, MPAGE - to % MPAGE);
}

static void test_sparse_model(void **state) {
    (void)state;
    char *path = test_path(dir, "sparse-model.enc");
    uint64_t s = 99, size = 0;
    uint8_t *buf = malloc(3 * N), *want = malloc(3 * N);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/sm", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    for (unsigned op = 0; op < 600; op++) {
        unsigned kind = (unsigned)(test_rand(&s) % 100);
        uint64_t at = test_rand(&s) % SPARSE_MAX;
        size_t len = (size_t)(test_rand(&s) % (2 * N));
        if (kind < 45) {
            len = (size_t)MIN((uint64_t)len, SPARSE_MAX - at);
            test_fill(buf, len, test_rand(&s));
            assert_int_equal(veil_encfile_pwrite(f, buf, len, at), len);
            sparse_model_write(at, buf, len);
            if (len && at + len > size) size = at + len;
        } else if (kind < 85) {
            size_t got = at >= size ? 0 : (size_t)MIN((uint64_t)len, size - at);
            assert_int_equal(veil_encfile_pread(f, buf, len, at), got);
            sparse_model_read(at, want, got);
            assert_memory_equal(buf, want, got);
        } else if (kind < 92) {
            assert_int_equal(veil_encfile_truncate(f, at), 0);
            sparse_model_truncate(size, at);
            size = at;
        } else if (kind < 97) {
            assert_int_equal(veil_encfile_flush(f), 0);
        } else {
            assert_int_equal(veil_encfile_close(f), 0);
            if (access(path, F_OK) == 0) {
                assert_int_equal(veil_encfile_open(path, test_key, "/sm", VEIL_ENCFILE_WRITE, NULL, &f), 0);
                assert_int_equal(veil_encfile_verify(f), 0);
            } else
                assert_int_equal(veil_encfile_open(path, test_key, "/sm", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
        }
        assert_int_equal(veil_encfile_size(f), size);
    }
    assert_int_equal(veil_encfile_close(f), 0);
    struct stat st;
    if (stat(path, &st) == 0) assert_true((uint64_t)st.st_blocks * 512 < ((uint64_t)64 << 20));
    for (size_t i = 0; i < ELEMENTSOF(sparse_pages); i++) free(sparse_pages[i]);
    free(buf);
    free(want);
    unlink(path);
    free(path);
}

/* Writes past the dirty limit flush on their own; the result is still exact. */
static void test_dirty_limit(void **state) {
    (void)state;
    char *path = test_path(dir, "big.enc");
    const size_t size = VEIL_ENCFILE_DIRTY_LIMIT + 3 * N + 11;
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 77);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/big", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    for (size_t at = 0; at < size; at += 1 << 20)
        assert_int_equal(veil_encfile_pwrite(f, plain + at, MIN((size_t)1 << 20, size - at), at),
                         MIN((size_t)1 << 20, size - at));
    assert_true(veil_encfile_version(f) >= 1); /* an automatic flush happened */
    assert_int_equal(veil_encfile_flush(f), 0);
    check_all(f, plain, size);
    veil_encfile_free(f);
    struct veil_secbuf *out;
    assert_int_equal(veil_encfile_load(path, test_key, "/big", NULL, &out, NULL), 0);
    assert_memory_equal(out->data, plain, size);
    veil_secbuf_free(out);
    free(plain);
    unlink(path);
    free(path);
}

static int setup(void **state) {
    (void)state;
    dir = test_dir_make("encfile-random", 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    assert_int_equal(test_dir_count(dir, 0), 0);
    test_dir_remove(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_sparse_model),
        cmocka_unit_test(test_dirty_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
