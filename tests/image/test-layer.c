/* SPDX-License-Identifier: Apache-2.0 */
/* Layer flattening: whiteouts, opaque directories, links, and refusal of hostile tar members. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "image/layer.h"

struct member {
    const char *name;
    char type; /* f file, d dir, l symlink, h hard link, c char device, p fifo */
    const char *data; /* content, or link target */
};

/* A tar (pax) of the members, in a malloc'd buffer. */
static uint8_t *make_tar(const struct member *m, size_t n, size_t *ret_size) {
    size_t cap = 1 << 20, used = 0;
    uint8_t *buf = malloc(cap);
    struct archive *w = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(w, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_perm(e, 0644);
        switch (m[i].type) {
        case 'f':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)strlen(m[i].data));
            break;
        case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, m[i].data);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].data);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, 0x0103);
            break;
        case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
        }
        assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
        if (m[i].type == 'f') assert_int_equal(archive_write_data(w, m[i].data, strlen(m[i].data)), (la_ssize_t)strlen(m[i].data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    *ret_size = used;
    return buf;
}

static int apply_bytes(struct image_tree *t, const uint8_t *data, size_t size, unsigned layer) {
    struct archive *a = image_tar_reader_new();
    assert_non_null(a);
    int r = archive_read_open_memory(a, data, size) == ARCHIVE_OK ? image_layer_apply(t, a, layer, NULL) : -EBADMSG;
    archive_read_free(a);
    return r;
}

static int apply(struct image_tree *t, const struct member *m, size_t n, unsigned layer) {
    size_t size;
    uint8_t *tar = make_tar(m, n, &size);
    int r = apply_bytes(t, tar, size, layer);
    free(tar);
    return r;
}

#define APPLY(t, layer, ...)                                                                                           \
    ({                                                                                                                 \
        const struct member _m[] = { __VA_ARGS__ };                                                                   \
        apply(t, _m, ELEMENTSOF(_m), layer);                                                                           \
    })

static struct image_tree *new_tree(void) {
    struct image_tree *t;
    assert_int_equal(image_tree_new(&t), 0);
    return t;
}

static void test_basic(void **state) {
    (void)state;
    struct image_tree *t = new_tree();
    assert_int_equal(APPLY(t, 0, { "./", 'd', NULL }, { "usr/", 'd', NULL }, { "usr/bin/busybox", 'f', "hello" },
                           { "bin", 'l', "usr/bin" }, { "usr/bin/sh", 'h', "usr/bin/busybox" },
                           { "/etc/abs", 'f', "x" }),
                     0);
    struct image_node *n = image_tree_get(t, "/usr/bin/busybox");
    assert_non_null(n);
    assert_int_equal(n->type, IMAGE_NODE_FILE);
    assert_int_equal(n->size, 5);
    struct image_node *h = image_tree_get(t, "/usr/bin/sh");
    assert_non_null(h);
    assert_true(h->hardlink);
    assert_int_equal(h->src_ordinal, n->src_ordinal);
    assert_int_equal(image_tree_get(t, "/bin")->type, IMAGE_NODE_SYMLINK);
    assert_string_equal(image_tree_get(t, "/bin")->target, "usr/bin");
    assert_true(image_tree_get(t, "/usr/bin")->implicit); /* made as a parent */
    assert_non_null(image_tree_get(t, "/etc/abs"));      /* leading '/' stripped */
    assert_int_equal(image_tree_check_symlinks(t), 0);
    image_tree_free(t);
}

static void test_whiteouts(void **state) {
    (void)state;
    struct image_tree *t = new_tree();
    assert_int_equal(APPLY(t, 0, { "a/x", 'f', "1" }, { "a/y", 'f', "2" }, { "d/sub/z", 'f', "3" }, { "d/w", 'f', "4" },
                           { "gone/deep/file", 'f', "5" }),
                     0);
    assert_int_equal(APPLY(t, 1, { "a/.wh.x", 'f', "" }, { "d/.wh..wh..opq", 'f', "" }, { "d/new", 'f', "6" },
                           { ".wh.gone", 'f', "" }, { "a/y", 'f', "22" }),
                     0);
    assert_null(image_tree_get(t, "/a/x"));
    assert_int_equal(image_tree_get(t, "/a/y")->size, 2);
    assert_int_equal(image_tree_get(t, "/a/y")->src_layer, 1);
    assert_null(image_tree_get(t, "/d/w"));
    assert_null(image_tree_get(t, "/d/sub"));
    assert_null(image_tree_get(t, "/d/sub/z"));
    assert_non_null(image_tree_get(t, "/d/new"));
    assert_non_null(image_tree_get(t, "/d"));
    assert_null(image_tree_get(t, "/gone"));
    assert_null(image_tree_get(t, "/gone/deep/file"));
    /* a later layer brings a path back */
    assert_int_equal(APPLY(t, 2, { "gone/again", 'f', "7" }), 0);
    assert_non_null(image_tree_get(t, "/gone/again"));
    assert_null(image_tree_get(t, "/gone/deep/file"));
    image_tree_free(t);
}

static void test_replace(void **state) {
    (void)state;
    struct image_tree *t = new_tree();
    assert_int_equal(APPLY(t, 0, { "x/", 'd', NULL }, { "x/child", 'f', "1" }, { "f", 'f', "2" }), 0);
    assert_int_equal(APPLY(t, 1, { "x", 'f', "file now" }, { "f/", 'd', NULL }, { "f/inside", 'f', "3" }), 0);
    assert_int_equal(image_tree_get(t, "/x")->type, IMAGE_NODE_FILE);
    assert_null(image_tree_get(t, "/x/child"));
    assert_int_equal(image_tree_get(t, "/f")->type, IMAGE_NODE_DIR);
    assert_non_null(image_tree_get(t, "/f/inside"));
    image_tree_free(t);
}

static void test_dir_over_symlink(void **state) {
    (void)state;
    struct image_tree *t = new_tree();
    assert_int_equal(APPLY(t, 0, { "lib", 'l', "usr/lib" }, { "usr/lib/a", 'f', "1" }, { "f", 'f', "2" }), 0);
    /* a later layer's member below them: overlayfs shows a directory, hiding the lower entries */
    assert_int_equal(APPLY(t, 1, { "lib/b", 'f', "3" }, { "f/g", 'f', "4" }), 0);
    assert_int_equal(image_tree_get(t, "/lib")->type, IMAGE_NODE_DIR);
    assert_non_null(image_tree_get(t, "/lib/b"));
    assert_null(image_tree_get(t, "/lib/a"));
    assert_non_null(image_tree_get(t, "/usr/lib/a"));
    assert_int_equal(image_tree_get(t, "/f")->type, IMAGE_NODE_DIR);
    image_tree_free(t);
}

static void expect_refused(const struct member *m, size_t n, const char *why) {
    struct image_tree *t = new_tree();
    int r = apply(t, m, n, 0);
    if (r == 0) r = image_tree_check_symlinks(t);
    if (r != -EBADMSG) fail_msg("%s: expected -EBADMSG, got %d", why, r);
    image_tree_free(t);
}

#define REFUSED(why, ...)                                                                                              \
    do {                                                                                                               \
        const struct member _m[] = { __VA_ARGS__ };                                                                   \
        expect_refused(_m, ELEMENTSOF(_m), why);                                                                       \
    } while (0)

static void test_hostile(void **state) {
    (void)state;
    REFUSED("dotdot", { "a/../../etc/passwd", 'f', "x" });
    REFUSED("dotdot end", { "a/..", 'd', NULL });
    REFUSED("device", { "dev/null", 'c', NULL });
    REFUSED("fifo", { "run/pipe", 'p', NULL });
    REFUSED("duplicate", { "a", 'f', "1" }, { "a", 'f', "2" });
    REFUSED("duplicate dir", { "d/", 'd', NULL }, { "d", 'd', NULL });
    REFUSED("hard link to nothing", { "a", 'h', "missing" });
    REFUSED("hard link to a dir", { "d/", 'd', NULL }, { "a", 'h', "d" });
    REFUSED("below a file", { "f", 'f', "1" }, { "f/x", 'f', "2" });
    REFUSED("relative escape", { "a/b/link", 'l', "../../../etc/shadow" });
    REFUSED("absolute escape", { "link", 'l', "/../../etc" });
    REFUSED("escape through a link", { "up", 'l', ".." }, { "a/b", 'l', "../up/x" });
    REFUSED("loop", { "a", 'l', "b" }, { "b", 'l', "a" });
    REFUSED("empty symlink", { "a", 'l', "" });

    /* accepted: absolute links inside the image, ".." that stays inside */
    struct image_tree *t = new_tree();
    assert_int_equal(APPLY(t, 0, { "usr/lib/x", 'f', "1" }, { "lib", 'l', "/usr/lib" }, { "a/b/up", 'l', "../../usr/lib/x" },
                           { "a/abs", 'l', "/lib/x" }, { "a/dangling", 'l', "/nowhere/at/all" }),
                     0);
    assert_int_equal(image_tree_check_symlinks(t), 0);
    image_tree_free(t);
}

static void test_corrupt(void **state) {
    (void)state;
    const struct member m[] = { { "a", 'f', "some content that is long enough" }, { "b", 'f', "more" } };
    size_t size;
    uint8_t *tar = make_tar(m, 2, &size);
    /* every truncation inside the first member's header or data is refused */
    for (size_t cut = 1; cut < 1024 + 512; cut += 37) {
        struct image_tree *t = new_tree();
        assert_int_equal(apply_bytes(t, tar, cut, 0), -EBADMSG);
        image_tree_free(t);
    }
    /* a flipped header byte breaks the checksum */
    tar[10] ^= 0x55;
    struct image_tree *t = new_tree();
    assert_int_equal(apply_bytes(t, tar, size, 0), -EBADMSG);
    image_tree_free(t);
    free(tar);
    /* not a tar at all */
    t = new_tree();
    assert_int_equal(apply_bytes(t, (const uint8_t *)"{\"not\": \"a tar\"}", 16, 0), -EBADMSG);
    image_tree_free(t);
}

static void test_normalise(void **state) {
    (void)state;
    char out[4100];
    size_t n;
    assert_int_equal(image_path_normalise("./usr//bin/./", out, sizeof(out), &n), 0);
    assert_string_equal(out, "/usr/bin");
    assert_int_equal(image_path_normalise(".", out, sizeof(out), &n), 0);
    assert_string_equal(out, "/");
    assert_int_equal(image_path_normalise("a/../b", out, sizeof(out), &n), -EBADMSG);
    assert_int_equal(image_path_normalise("..", out, sizeof(out), &n), -EBADMSG);
    assert_int_equal(image_path_normalise("a/..b/c..", out, sizeof(out), &n), 0);
    assert_string_equal(out, "/a/..b/c..");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),   cmocka_unit_test(test_whiteouts), cmocka_unit_test(test_replace),
        cmocka_unit_test(test_hostile), cmocka_unit_test(test_corrupt),   cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_dir_over_symlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
