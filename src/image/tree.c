/* SPDX-License-Identifier: Apache-2.0 */
/* The flattened image file system: a path-hashed node table with parent/child links. */
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "manifest/manifest.h"

#define SYMLINK_MAX_DEPTH 40

static uint64_t path_hash(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static int rehash(struct image_tree *t) {
    size_t count = t->bucket_count ? t->bucket_count * 2 : 1024;
    struct image_node **b = calloc(count, sizeof(*b));
    if (!b) return -ENOMEM;
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct image_node *n = t->buckets[i], *next; n; n = next) {
            next = n->hash_next;
            size_t k = path_hash(n->path, n->path_size) & (count - 1);
            n->hash_next = b[k];
            b[k] = n;
        }
    free(t->buckets);
    t->buckets = b;
    t->bucket_count = count;
    return 0;
}

static int insert(struct image_tree *t, const char *path, size_t path_size, struct image_node *parent,
                  struct image_node **ret) {
    if (t->node_count + 1 > t->bucket_count / 2) {
        int r = rehash(t);
        if (r < 0) return r;
    }
    struct image_node *n = calloc(1, sizeof(*n));
    if (!n || !(n->path = strndup(path, path_size))) {
        free(n);
        return -ENOMEM;
    }
    n->path_size = path_size;
    n->parent = parent;
    if (parent) {
        n->next_sibling = parent->first_child;
        parent->first_child = n;
    }
    size_t k = path_hash(path, path_size) & (t->bucket_count - 1);
    n->hash_next = t->buckets[k];
    t->buckets[k] = n;
    t->node_count++;
    *ret = n;
    return 0;
}

int image_tree_new(struct image_tree **ret) {
    struct image_tree *t = calloc(1, sizeof(*t));
    if (!t) return -ENOMEM;
    int r = insert(t, "/", 1, NULL, &t->root);
    if (r < 0) {
        image_tree_free(t);
        return r;
    }
    t->root->type = IMAGE_NODE_DIR;
    t->root->present = true;
    t->root->implicit = true;
    t->root->mode = 0755;
    *ret = t;
    return 0;
}

void image_tree_free(struct image_tree *t) {
    if (!t) return;
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct image_node *n = t->buckets[i], *next; n; n = next) {
            next = n->hash_next;
            free(n->path);
            free(n->target);
            free(n);
        }
    free(t->buckets);
    free(t);
}

struct image_node *image_tree_lookup(struct image_tree *t, const char *path, size_t path_size) {
    size_t k = path_hash(path, path_size) & (t->bucket_count - 1);
    for (struct image_node *n = t->buckets[k]; n; n = n->hash_next)
        if (n->path_size == path_size && memcmp(n->path, path, path_size) == 0) return n;
    return NULL;
}

struct image_node *image_tree_get(struct image_tree *t, const char *path) {
    struct image_node *n = image_tree_lookup(t, path, strlen(path));
    return n && n->present ? n : NULL;
}

void image_node_reset(struct image_node *n) {
    free(n->target);
    n->target = NULL;
    n->present = false;
    n->implicit = false;
    n->hardlink = false;
    n->size = 0;
}

static bool has_present_child(const struct image_node *n) {
    for (const struct image_node *c = n->first_child; c; c = c->next_sibling)
        if (c->present) return true;
    return false;
}

void image_tree_remove_children(struct image_node *n, unsigned below_layer) {
    for (struct image_node *c = n->first_child; c; c = c->next_sibling) {
        if (!c->present) continue;
        image_tree_remove_children(c, below_layer);
        /* a lower directory that still holds this layer's entries stays (as their parent) */
        if (c->layer < below_layer && !(c->type == IMAGE_NODE_DIR && has_present_child(c))) image_node_reset(c);
    }
}

int image_tree_make(struct image_tree *t, const char *path, size_t path_size, unsigned layer, struct image_node **ret) {
    if (path_size == 1) {
        *ret = t->root;
        return 0;
    }
    struct image_node *n = image_tree_lookup(t, path, path_size);
    if (n) {
        if (n->parent->present && n->parent->type == IMAGE_NODE_DIR) {
            *ret = n;
            return 0;
        }
    }
    /* the parent: everything before the last '/' */
    size_t slash = path_size - 1;
    while (path[slash] != '/') slash--;
    struct image_node *parent;
    int r = image_tree_make(t, path, slash ? slash : 1, layer, &parent);
    if (r < 0) return r;
    if (parent->present && parent->type != IMAGE_NODE_DIR) {
        /* overlay semantics: a layer's directory (even an implied one) hides a lower layer's
         * file or symlink of that name; within one layer it is a contradiction */
        if (parent->layer >= layer)
            return veil_err(-EBADMSG, "'%.*s' lies below '%s', which is not a directory", (int)path_size, path, parent->path);
        image_node_reset(parent);
    }
    if (!parent->present) {
        image_node_reset(parent);
        parent->present = true;
        parent->implicit = true;
        parent->type = IMAGE_NODE_DIR;
        parent->mode = 0755;
        parent->uid = parent->gid = 0;
        parent->mtime = 0;
        parent->layer = layer;
    }
    if (!n && (r = insert(t, path, path_size, parent, &n)) < 0) return r;
    *ret = n;
    return 0;
}

static int cmp_node(const void *a, const void *b) {
    const struct image_node *x = *(struct image_node *const *)a, *y = *(struct image_node *const *)b;
    return strcmp(x->path, y->path);
}

int image_tree_list(struct image_tree *t, struct image_node ***ret, size_t *ret_count) {
    struct image_node **v = malloc((t->node_count ? t->node_count : 1) * sizeof(*v));
    if (!v) return -ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct image_node *n = t->buckets[i]; n; n = n->hash_next)
            if (n->present) v[count++] = n;
    qsort(v, count, sizeof(*v), cmp_node);
    *ret = v;
    *ret_count = count;
    return 0;
}

/* The next component of a path at *p, skipping '/' separators, empty components and "."; false at the end. */
static bool next_component(const char **p, const char **ret_start, size_t *ret_len) {
    for (;;) {
        while (**p == '/') (*p)++;
        if (!**p) return false;
        const char *start = *p;
        while (**p && **p != '/') (*p)++;
        size_t len = (size_t)(*p - start);
        if (len == 1 && start[0] == '.') continue;
        *ret_start = start;
        *ret_len = len;
        return true;
    }
}

int image_path_normalise(const char *name, char *out, size_t out_size, size_t *ret_size) {
    size_t n = 0;
    const char *p = name;
    const char *start;
    size_t len;
    while (next_component(&p, &start, &len)) {
        if (len == 2 && start[0] == '.' && start[1] == '.') return veil_err(-EBADMSG, "archive member '%s' contains '..'", name);
        if (n + 1 + len + 1 > out_size || n + 1 + len > VEIL_MANIFEST_MAX_PATH)
            return veil_err(-EBADMSG, "archive member name is longer than %u bytes", VEIL_MANIFEST_MAX_PATH);
        out[n++] = '/';
        memcpy(out + n, start, len);
        n += len;
    }
    if (n == 0) out[n++] = '/';
    out[n] = 0;
    *ret_size = n;
    return 0;
}

/*
 * Walk `path` component by component from the root, following symlinks (up to
 * SYMLINK_MAX_DEPTH in all); ".." at the root means the link escapes the image.
 * Components that do not exist are taken literally (a dangling link is allowed).
 */
struct walk {
    char buf[VEIL_MANIFEST_MAX_PATH + 2];
    size_t size;
    unsigned depth;
};

static int walk(struct image_tree *t, struct walk *w, const char *path) {
    const char *p = path;
    if (*p == '/') w->size = 0; /* absolute: the image root */
    const char *start;
    size_t len;
    while (next_component(&p, &start, &len)) {
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            if (w->size == 0) return -ELOOP; /* above the root */
            while (w->size > 0 && w->buf[--w->size] != '/') {}
            continue;
        }
        if (w->size + 1 + len >= sizeof(w->buf)) return -ENAMETOOLONG;
        size_t before = w->size;
        w->buf[w->size++] = '/';
        memcpy(w->buf + w->size, start, len);
        w->size += len;
        struct image_node *n = image_tree_lookup(t, w->buf, w->size);
        if (n && n->present && n->type == IMAGE_NODE_SYMLINK) {
            if (++w->depth > SYMLINK_MAX_DEPTH) return -EMLINK;
            w->size = before;
            int r = walk(t, w, n->target);
            if (r < 0) return r;
        }
    }
    return 0;
}

int image_tree_check_symlinks(struct image_tree *t) {
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct image_node *n = t->buckets[i]; n; n = n->hash_next) {
            if (!n->present || n->type != IMAGE_NODE_SYMLINK) continue;
            struct walk w = { .size = 0 };
            /* relative targets start in the link's directory */
            size_t dir = n->path_size;
            while (dir > 0 && n->path[dir - 1] != '/') dir--;
            w.size = dir > 1 ? dir - 1 : 0;
            memcpy(w.buf, n->path, w.size);
            int r = walk(t, &w, n->target);
            if (r == -ELOOP) return veil_err(-EBADMSG, "symlink '%s' -> '%s' escapes the image root", n->path, n->target);
            if (r == -EMLINK) return veil_err(-EBADMSG, "symlink '%s' -> '%s' loops (more than %d links)", n->path, n->target, SYMLINK_MAX_DEPTH);
            if (r < 0) return veil_err(-EBADMSG, "symlink '%s' resolves to a path that is too long", n->path);
        }
    return 0;
}
