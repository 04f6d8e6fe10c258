/* SPDX-License-Identifier: Apache-2.0 */
/* Decides how the wrapped application starts: argv (resolved to an absolute path), env, cwd and user. */
#include "startup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ACCOUNT_FILE ((size_t)4 << 20)

struct strv {
    const char **v;
    size_t count;
};

static int strv_push(struct strv *s, const char *x) {
    const char **v = realloc(s->v, (s->count + 2) * sizeof(char *));
    if (!v) return -ENOMEM;
    s->v = v;
    v[s->count++] = x;
    v[s->count] = NULL;
    return 0;
}

static void strv_done(struct strv *s) {
    free(s->v);
}

/* Set NAME=value, replacing an existing NAME. */
static int env_set(struct strv *env, const char *entry) {
    const char *eq = strchr(entry, '=');
    if (!eq || eq == entry) return veil_err(-EINVAL, "environment entry '%s' is not NAME=value", entry);
    size_t n = (size_t)(eq - entry) + 1;
    for (size_t i = 0; i < env->count; i++)
        if (strncmp(env->v[i], entry, n) == 0) {
            env->v[i] = entry;
            return 0;
        }
    return strv_push(env, entry);
}

static const char *env_get(const struct strv *env, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < env->count; i++)
        if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=') return env->v[i] + n + 1;
    return NULL;
}

/* Normalise `path` (relative ones against `base`) into out. */
static int absolute(const char *base, const char *path, char *out, size_t out_size) {
    char joined[2 * VEIL_MANIFEST_MAX_PATH + 2];
    if (snprintf(joined, sizeof(joined), "%s/%s", path[0] == '/' ? "" : base, path) >= (int)sizeof(joined))
        return veil_err(-ENAMETOOLONG, "path %s is too long", path);
    size_t n;
    int r = image_path_normalise(joined, out, out_size, &n);
    return r < 0 ? veil_err(-EINVAL, "path '%s' contains '..'", path) : 0;
}

/* execvp's search, done in the image: the first PATH entry holding argv0. */
static int resolve_argv0(struct image_tree *t, const struct strv *env, const char *cwd, const char *argv0, char *out,
                         size_t out_size) {
    if (strchr(argv0, '/')) {
        int r = absolute(cwd, argv0, out, out_size);
        if (r < 0) return r;
        struct image_node *n = image_tree_get(t, out);
        if (!n || n->type == IMAGE_NODE_DIR) return veil_err(-ENOENT, "entrypoint %s is not a file in the image", out);
        return 0;
    }
    const char *path = env_get(env, "PATH");
    _cleanup_free_ char *copy = strdup(path ? path : DEFAULT_PATH);
    if (!copy) return -ENOMEM;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char candidate[VEIL_MANIFEST_MAX_PATH + 2];
        if (absolute("/", dir, candidate, sizeof(candidate)) < 0) continue;
        char full[2 * VEIL_MANIFEST_MAX_PATH + 4];
        snprintf(full, sizeof(full), "%s/%s", candidate, argv0);
        if (absolute("/", full, out, out_size) < 0) continue;
        struct image_node *n = image_tree_get(t, out);
        if (n && n->type != IMAGE_NODE_DIR) return 0;
    }
    return veil_err(-ENOENT, "entrypoint '%s' is not found on PATH in the image", argv0);
}

static bool parse_id(const char *s, uint32_t *ret) {
    if (!*s) return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > UINT32_MAX || s[0] == '-') return false;
    *ret = (uint32_t)v;
    return true;
}

/* Look `name_or_id` up in an /etc/passwd or /etc/group text: field 2 (id) and, for passwd, field 3 (gid). */
static bool account_lookup(const char *text, const char *name_or_id, bool by_id, uint32_t *ret_id, uint32_t *ret_gid) {
    if (!text) return false;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = 0;
            char *fields[4] = { 0 };
            char *p = buf;
            for (int i = 0; i < 4 && p; i++) {
                fields[i] = p;
                p = strchr(p, ':');
                if (p) *p++ = 0;
            }
            uint32_t id, gid = 0;
            if (fields[3] && !parse_id(fields[3], &gid)) gid = 0;
            if (fields[2] && parse_id(fields[2], &id) &&
                (by_id ? strcmp(fields[2], name_or_id) == 0 : strcmp(fields[0], name_or_id) == 0)) {
                *ret_id = id;
                if (ret_gid) *ret_gid = gid;
                return true;
            }
        }
        line += len + (end ? 1 : 0);
    }
    return false;
}

static int read_account_file(struct image_source *s, int root_fd, struct image_tree *t, const char *path, char **ret) {
    struct image_node *n = image_tree_get(t, path);
    *ret = NULL;
    if (!n || n->type != IMAGE_NODE_FILE) return 0;
    uint8_t *data;
    size_t size;
    int r = image_read_node(s, root_fd, n, MAX_ACCOUNT_FILE, &data, &size);
    if (r < 0) return r;
    *ret = (char *)data;
    return 0;
}

static int resolve_user(struct image_source *s, int root_fd, struct image_tree *t, const char *spec, uint32_t *ret_uid,
                        uint32_t *ret_gid) {
    if (!*spec) {
        *ret_uid = *ret_gid = 0;
        return 0;
    }
    _cleanup_free_ char *copy = strdup(spec);
    if (!copy) return -ENOMEM;
    char *group = strchr(copy, ':');
    if (group) *group++ = 0;
    _cleanup_free_ char *passwd = NULL, *groups = NULL;
    int r = read_account_file(s, root_fd, t, "/etc/passwd", &passwd);
    if (r < 0 || (r = read_account_file(s, root_fd, t, "/etc/group", &groups)) < 0) return r;
    uint32_t uid, gid = 0;
    if (parse_id(copy, &uid))
        (void)account_lookup(passwd, copy, true, &uid, &gid); /* a known uid takes its primary group */
    else if (!account_lookup(passwd, copy, false, &uid, &gid))
        return veil_err(-ENOENT, "user '%s' is not in the image's /etc/passwd", copy);
    if (group && !parse_id(group, &gid) && !account_lookup(groups, group, false, &gid, NULL))
        return veil_err(-ENOENT, "group '%s' is not in the image's /etc/group", group);
    *ret_uid = uid;
    *ret_gid = gid;
    return 0;
}

int image_startup_configure(const struct veil_wrap_options *o, struct image_source *s, int root_fd, struct image_tree *t,
                            struct veil_manifest_builder *b) {
    const struct image_config *c = s ? s->config : NULL;
    _cleanup_(strv_done) struct strv argv = { 0 }, env = { 0 };
    int r = 0;
    /* argv: --entrypoint [--arg]..., else the image's Entrypoint + (--arg... or Cmd) */
    if (o->entrypoint) {
        r = strv_push(&argv, o->entrypoint);
        for (size_t i = 0; r >= 0 && i < o->arg_count; i++) r = strv_push(&argv, o->args[i]);
    } else if (c) {
        for (size_t i = 0; r >= 0 && i < c->entrypoint_count; i++) r = strv_push(&argv, c->entrypoint[i]);
        if (o->args_set)
            for (size_t i = 0; r >= 0 && i < o->arg_count; i++) r = strv_push(&argv, o->args[i]);
        else
            for (size_t i = 0; r >= 0 && i < c->cmd_count; i++) r = strv_push(&argv, c->cmd[i]);
    }
    if (r < 0) return r;
    if (argv.count == 0)
        return veil_err(-EINVAL, "the image has no entrypoint or command: give one with --entrypoint");
    for (size_t i = 0; r >= 0 && c && i < c->env_count; i++) r = env_set(&env, c->env[i]);
    for (size_t i = 0; r >= 0 && i < o->env_count; i++) r = env_set(&env, o->env[i]);
    /* engines give a process the usual PATH when the image names none; so does the manifest */
    if (r >= 0 && !env_get(&env, "PATH")) r = strv_push(&env, "PATH=" DEFAULT_PATH);
    if (r < 0) return r;

    char cwd[VEIL_MANIFEST_MAX_PATH + 2] = "/";
    const char *workdir = o->workdir ? o->workdir : c && *c->workdir ? c->workdir : "/";
    if ((r = absolute("/", workdir, cwd, sizeof(cwd))) < 0) return r;
    char argv0[VEIL_MANIFEST_MAX_PATH + 2];
    if ((r = resolve_argv0(t, &env, cwd, argv.v[0], argv0, sizeof(argv0))) < 0) return r;
    argv.v[0] = argv0;

    uint32_t uid = 0, gid = 0;
    if ((r = resolve_user(s, root_fd, t, o->user ? o->user : c ? c->user : "", &uid, &gid)) < 0) return r;

    if ((r = veil_manifest_builder_set_argv(b, argv.v, argv.count)) < 0 ||
        (r = veil_manifest_builder_set_env(b, env.v, env.count)) < 0 || (r = veil_manifest_builder_set_cwd(b, cwd)) < 0 ||
        (r = veil_manifest_builder_set_attestation(b, o->attest_address, o->attest_policy)) < 0)
        return r;
    for (size_t i = 0; i < o->host_env_count; i++)
        if ((r = veil_manifest_builder_add_host_env(b, o->host_env[i])) < 0) return r;
    veil_manifest_builder_set_user(b, uid, gid);
    veil_manifest_builder_set_product(b, o->product_id, o->security_version);
    return 0;
}
