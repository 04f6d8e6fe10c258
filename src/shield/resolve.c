/* SPDX-License-Identifier: Apache-2.0 */
/* Component-by-component path resolution confined to the image root. */
#include "resolve.h"

#include <errno.h>
#include <string.h>

struct walk {
    char out[VEIL_SHIELD_PATH_MAX]; /* resolved so far, "" meaning "/" */
    size_t out_size;
    char rest[VEIL_SHIELD_PATH_MAX]; /* still to walk */
    size_t rest_pos, rest_size;
};

static int set_rest(struct walk *w, const char *head, size_t head_size) {
    /* rest := head + "/" + unread part of rest */
    char tmp[VEIL_SHIELD_PATH_MAX];
    size_t tail = w->rest_size - w->rest_pos;
    if (head_size + 1 + tail >= sizeof(tmp)) return -ENAMETOOLONG;
    memcpy(tmp, head, head_size);
    tmp[head_size] = '/';
    memcpy(tmp + head_size + 1, w->rest + w->rest_pos, tail);
    memcpy(w->rest, tmp, head_size + 1 + tail);
    w->rest_size = head_size + 1 + tail;
    w->rest_pos = 0;
    return 0;
}

static void pop_component(struct walk *w) {
    while (w->out_size > 0 && w->out[w->out_size - 1] != '/') w->out_size--;
    if (w->out_size > 0) w->out_size--; /* the '/' itself */
    w->out[w->out_size] = 0;
}

static int push_component(struct walk *w, const char *c, size_t n) {
    if (w->out_size + 1 + n >= sizeof(w->out)) return -ENAMETOOLONG;
    w->out[w->out_size++] = '/';
    memcpy(w->out + w->out_size, c, n);
    w->out_size += n;
    w->out[w->out_size] = 0; /* callbacks get a C string */
    return 0;
}

static bool rest_done(const struct walk *w) {
    for (size_t i = w->rest_pos; i < w->rest_size; i++)
        if (w->rest[i] != '/') return false;
    return true;
}

static void finish(struct walk *w, const struct veil_shield_verdict *v, struct veil_shield_resolved *ret) {
    if (w->out_size == 0) w->out[w->out_size++] = '/';
    memcpy(ret->path, w->out, w->out_size);
    ret->path[w->out_size] = 0;
    ret->path_size = w->out_size;
    ret->verdict = *v;
}

/* "/" or absolute without empty, "." or ".." components and without a trailing '/'. */
static bool is_normal(const char *p, size_t n) {
    if (n == 0 || p[0] != '/') return false;
    if (n == 1) return true;
    if (p[n - 1] == '/') return false;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && p[j] != '/') j++;
        size_t len = j - i - 1;
        if (len == 0 || (len == 1 && p[i + 1] == '.') || (len == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
            return false;
        i = j;
    }
    return true;
}

int veil_shield_resolve(const struct veil_shield_resolver *r, const char *base, const char *path,
                        bool follow_final, struct veil_shield_resolved *ret) {
    struct walk w;
    size_t path_size = strnlen(path, VEIL_SHIELD_PATH_MAX);
    if (path_size == VEIL_SHIELD_PATH_MAX) return -ENAMETOOLONG;
    if (path_size == 0) return -ENOENT;

    w.out_size = 0;
    if (path[0] != '/') {
        size_t b = strnlen(base, VEIL_SHIELD_PATH_MAX);
        if (b == VEIL_SHIELD_PATH_MAX || !is_normal(base, b)) return -EINVAL;
        if (b == 1) b = 0; /* "/" */
        memcpy(w.out, base, b);
        w.out_size = b;
        w.out[b] = 0;
    }
    memcpy(w.rest, path, path_size);
    w.rest_size = path_size;
    w.rest_pos = 0;
    ret->must_be_dir = path[path_size - 1] == '/';

    unsigned links = 0;
    struct veil_shield_verdict v;
    for (;;) {
        while (w.rest_pos < w.rest_size && w.rest[w.rest_pos] == '/') w.rest_pos++;
        if (w.rest_pos == w.rest_size) break;
        const char *comp = w.rest + w.rest_pos;
        size_t n = 0;
        while (w.rest_pos + n < w.rest_size && comp[n] != '/') n++;
        char saved[VEIL_SHIELD_PATH_MAX];
        memcpy(saved, comp, n); /* comp may be overwritten when rest is rebuilt */
        w.rest_pos += n;
        bool last = rest_done(&w);

        if (n == 1 && saved[0] == '.') continue;
        if (n == 2 && saved[0] == '.' && saved[1] == '.') {
            pop_component(&w);
            continue;
        }
        size_t before = w.out_size;
        int e = push_component(&w, saved, n);
        if (e < 0) return e;

        veil_shield_classify(r->policy, w.out, w.out_size, &v);
        if (v.class == VEIL_SHIELD_PASSTHROUGH) {
            /* the kernel resolves the rest in the host's view; keep the name lexically */
            size_t tail = w.rest_size - w.rest_pos;
            if (w.out_size + tail >= sizeof(w.out)) return -ENAMETOOLONG;
            memcpy(w.out + w.out_size, w.rest + w.rest_pos, tail);
            w.out_size += tail;
            while (w.out_size > 1 && w.out[w.out_size - 1] == '/') w.out_size--;
            finish(&w, &v, ret);
            return 0;
        }
        bool want_link = !last || follow_final || ret->must_be_dir;
        if (!want_link) continue;

        char target[VEIL_SHIELD_PATH_MAX];
        int target_size;
        switch (v.class) {
        case VEIL_SHIELD_SYMLINK:
            target_size = (int)strnlen(v.target, sizeof(target));
            if ((size_t)target_size == sizeof(target)) return -ENAMETOOLONG;
            memcpy(target, v.target, (size_t)target_size);
            break;
        case VEIL_SHIELD_DIRECTORY:
            continue;
        case VEIL_SHIELD_TRUSTED:
        case VEIL_SHIELD_SECRET:
            if (!v.from_rule) {
                if (!last) return -ENOTDIR;
                continue;
            }
            __attribute__((fallthrough));
        default:
            /* created at run time, or unknown: the disk says whether it is a link */
            target_size = r->readlink(r->ctx, w.out, target, sizeof(target));
            /* not a link; or missing on disk, which the final classification and the call itself
               will say (a secret's directory, for one, exists only in the policy) */
            if (target_size == -EINVAL || target_size == -ENOENT) continue;
            if (target_size < 0) return target_size;
            if ((size_t)target_size >= sizeof(target)) return -ENAMETOOLONG;
            break;
        }
        if (++links > VEIL_SHIELD_MAX_SYMLINKS) return -ELOOP;
        if (target_size == 0) return -ENOENT;
        w.out_size = before; /* the link's own name is replaced by its target */
        if (target[0] == '/') w.out_size = 0;
        w.out[w.out_size] = 0;
        e = set_rest(&w, target, (size_t)target_size);
        if (e < 0) return e;
    }
    veil_shield_classify(r->policy, w.out_size ? w.out : "/", w.out_size ? w.out_size : 1, &v);
    finish(&w, &v, ret);
    return 0;
}
