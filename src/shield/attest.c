/* SPDX-License-Identifier: Apache-2.0 */
/* veil-run's attested start-up (docs/attestation-flow.md): attest, serve the returned keys, env, argv and secret files, report volume versions. */
#include "attest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "casclient/casclient.h"
#include "encfile/encfile.h"
#include "volume-table.h"

#define MAX_VOLUMES 64

struct volume {
    const char *name;                /* the manifest's key name */
    const char *path;                /* the rule's path in the application's view */
    char file[PATH_MAX];             /* host path of the version file */
    char logical[PATH_MAX];          /* its path in the application's view */
    const uint8_t *key;              /* from the service */
    uint64_t version;                /* authenticated, on disk */
    struct veil_volume_table files;  /* each file's encfile version, as last written by us */
};

struct veil_shield_attest {
    const struct veil_manifest *manifest;
    struct veil_casclient *client;
    struct veil_casclient_config *config;
    struct volume volumes[MAX_VOLUMES];
    size_t volume_count;
    pthread_mutex_t lock;            /* version files and reports, one volume change at a time */
    const struct veil_shield_policy *inner;
    struct veil_shield_vault_hooks hooks;
    /* plain copies of env and argv for the child: secbufs are MADV_DONTFORK, so a forked child
     * would find their pages missing (execve: EFAULT). Wiped once the app has started. */
    char **plain;
    size_t plain_count;
};

static const char *plain_copy(struct veil_shield_attest *a, const struct veil_secbuf *b) {
    char **v = realloc(a->plain, (a->plain_count + 1) * sizeof(*v));
    if (!v) return NULL;
    a->plain = v;
    if (!(v[a->plain_count] = strdup((const char *)b->data))) return NULL;
    return v[a->plain_count++];
}

void veil_shield_attest_wipe_plain(struct veil_shield_attest *a) {
    for (size_t i = 0; i < a->plain_count; i++) {
        veil_wipe(a->plain[i], strlen(a->plain[i]));
        free(a->plain[i]);
    }
    free(a->plain);
    a->plain = NULL;
    a->plain_count = 0;
}

static int collect_volumes(struct veil_shield_attest *a, const char *root) {
    const char *prefix = strcmp(root, "/") ? root : "";
    for (size_t i = 0; i < veil_manifest_rule_count(a->manifest); i++) {
        const struct veil_manifest_rule *rule = veil_manifest_rule_at(a->manifest, i);
        if (rule->class != VEIL_MANIFEST_ENCRYPTED || !strcmp(rule->key_name, VEIL_MANIFEST_IMAGE_KEY)) continue;
        if (a->volume_count == MAX_VOLUMES) return veil_err(-E2BIG, "more than %d volumes", MAX_VOLUMES);
        struct volume *v = &a->volumes[a->volume_count++];
        v->name = rule->key_name;
        v->path = rule->path;
        int n = snprintf(v->logical, sizeof(v->logical), "%s/%s", strcmp(rule->path, "/") ? rule->path : "",
                         VEIL_SHIELD_VOLUME_FILE);
        if (n < 0 || (size_t)n >= sizeof(v->logical) || strlen(prefix) + (size_t)n >= sizeof(v->file)) return -ENAMETOOLONG;
        memcpy(v->file, prefix, strlen(prefix));
        memcpy(v->file + strlen(prefix), v->logical, (size_t)n + 1);
        /* the version the disk claims (not yet authenticated: the key comes with the reply) */
        int fd = open(v->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT) return veil_err(-errno, "cannot open the version file of volume %s", v->name);
        if (fd >= 0) {
            struct veil_encfile_info info;
            int r = veil_encfile_peek(fd, &info);
            close(fd);
            if (r < 0) return veil_err(r, "the version file of volume %s is damaged", v->name);
            v->version = info.version;
        }
    }
    return 0;
}

/* The reply's key for every volume, and the version file's authentic version = the one reported. */
static int check_volumes(struct veil_shield_attest *a) {
    for (size_t i = 0; i < a->volume_count; i++) {
        struct volume *v = &a->volumes[i];
        const struct veil_casclient_volume *cv = veil_casclient_config_volume(a->config, v->name);
        if (!cv || !cv->key) return veil_err(-EPERM, "the service gave no key for the volume '%s'", v->name);
        v->key = cv->key->data;
        if (v->version == 0) continue;
        _cleanup_secbuf_ struct veil_secbuf *data = NULL;
        int r = veil_encfile_load(v->file, v->key, v->logical, &v->version, &data, NULL);
        if (r < 0) return veil_err(-EACCES, "the version file of volume '%s' is not authentic: %s", v->name, veil_err_describe(r));
        if ((r = veil_volume_table_parse(data->data, data->size, &v->files)) < 0)
            return veil_err(r, "the version file of volume '%s': %s", v->name, veil_err_describe(r));
    }
    return 0;
}

int veil_shield_attest_start(const struct veil_manifest *m, const char *root, const uint8_t measurement[32],
                             const struct veil_attest_options *tee, struct veil_shield_attest **ret) {
    const struct veil_manifest_config *cfg = veil_manifest_config(m);
    struct veil_casclient_target target;
    int r = veil_casclient_target_parse(cfg->attest_address, cfg->attest_policy, &target);
    if (r < 0) return r;
    _cleanup_(veil_shield_attest_freep) struct veil_shield_attest *a = calloc(1, sizeof(*a));
    if (!a) return -ENOMEM;
    pthread_mutex_init(&a->lock, NULL);
    a->manifest = m;
    if ((r = collect_volumes(a, root)) < 0) return r;
    struct veil_casclient_identity id = { .product_id = cfg->product_id, .security_version = cfg->security_version };
    memcpy(id.measurement, measurement, 32);
    veil_manifest_signer_id(m, id.signer);
    if ((r = veil_casclient_new(&target, tee, &id, &a->client)) < 0) return r;
    struct veil_casclient_report reports[MAX_VOLUMES];
    for (size_t i = 0; i < a->volume_count; i++)
        reports[i] = (struct veil_casclient_report){ .name = a->volumes[i].name, .version = a->volumes[i].version };
    veil_log_info("attesting to %s:%u as %s/%s", target.host, target.port, target.policy, target.service);
    if ((r = veil_casclient_attest(a->client, reports, a->volume_count, &a->config)) < 0) return r;
    if ((r = check_volumes(a)) < 0) return r;
    for (size_t i = 0; i < veil_manifest_key_count(m); i++)
        if (!veil_shield_attest_key(a, veil_manifest_key_at(m, i)))
            return veil_err(-EPERM, "the manifest needs the key '%s' and the service gave none", veil_manifest_key_at(m, i));
    veil_log_info("attested: policy version %llu, %zu variables, %zu arguments, %zu secret files, %zu volumes",
                  (unsigned long long)a->config->policy_version, a->config->env_count, a->config->argv_count,
                  a->config->file_count, a->volume_count);
    *ret = TAKE_PTR(a);
    return 0;
}

void veil_shield_attest_free(struct veil_shield_attest *a) {
    if (!a) return;
    veil_casclient_free(a->client);
    veil_casclient_config_free(a->config);
    veil_shield_attest_wipe_plain(a);
    for (size_t i = 0; i < a->volume_count; i++) veil_volume_table_done(&a->volumes[i].files);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

const uint8_t *veil_shield_attest_key(void *attest, const char *name) {
    struct veil_shield_attest *a = attest;
    if (!strcmp(name, VEIL_MANIFEST_IMAGE_KEY)) return a->config->image_key ? a->config->image_key->data : NULL;
    for (size_t i = 0; i < a->volume_count; i++)
        if (!strcmp(a->volumes[i].name, name)) return a->volumes[i].key;
    return NULL;
}

/* ---- secret files ---- */

static void attest_classify(void *ctx, const char *path, size_t path_size, struct veil_shield_verdict *ret) {
    const struct veil_shield_attest *a = ctx;
    const struct veil_manifest_config *cfg = veil_manifest_config(a->manifest);
    for (size_t i = 0; i < a->config->file_count; i++) {
        const struct veil_casclient_file *f = &a->config->files[i];
        if (strlen(f->path) == path_size && !memcmp(f->path, path, path_size)) {
            *ret = (struct veil_shield_verdict){ .class = VEIL_SHIELD_SECRET, .mode = f->mode, .uid = cfg->uid,
                                                 .gid = cfg->gid, .size = f->content->size,
                                                 .secret = f->content->data, .secret_size = f->content->size };
            return;
        }
    }
    veil_shield_classify(a->inner, path, path_size, ret);
    if (ret->class != VEIL_SHIELD_DENIED) return;
    /* a directory that leads to a secret file exists for the application even when the image lacks it */
    for (size_t i = 0; i < a->config->file_count; i++) {
        const char *f = a->config->files[i].path;
        if (strlen(f) > path_size && !memcmp(f, path, path_size) && f[path_size] == '/') {
            *ret = (struct veil_shield_verdict){ .class = VEIL_SHIELD_DIRECTORY, .mode = 0755 };
            return;
        }
    }
}

struct veil_shield_policy veil_shield_attest_policy(struct veil_shield_attest *a, const struct veil_shield_policy *inner) {
    a->inner = inner;
    return (struct veil_shield_policy){ .ctx = a, .classify = attest_classify };
}

/* ---- environment and arguments ---- */

static size_t name_size(const char *entry) {
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

int veil_shield_attest_env(struct veil_shield_attest *a, const char *const *base, const char ***ret) {
    size_t base_count = 0;
    while (base[base_count]) base_count++;
    const char **env = calloc(base_count + a->config->env_count + 1, sizeof(*env));
    if (!env) return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < base_count; i++) {
        bool replaced = false;
        for (size_t j = 0; j < a->config->env_count && !replaced; j++) {
            const char *s = (const char *)a->config->env[j]->data;
            replaced = name_size(s) == name_size(base[i]) && !memcmp(s, base[i], name_size(s));
        }
        if (!replaced) env[n++] = base[i];
    }
    for (size_t j = 0; j < a->config->env_count; j++)
        if (!(env[n++] = plain_copy(a, a->config->env[j]))) {
            free(env);
            return -ENOMEM;
        }
    env[n] = NULL;
    *ret = env;
    return 0;
}

int veil_shield_attest_argv(struct veil_shield_attest *a, const struct veil_manifest_config *cfg, const char ***ret) {
    const char **argv = calloc(cfg->argc + a->config->argv_count + 1, sizeof(*argv));
    if (!argv) return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < cfg->argc; i++) argv[n++] = cfg->argv[i];
    for (size_t i = 0; i < a->config->argv_count; i++)
        if (!(argv[n++] = plain_copy(a, a->config->argv[i]))) {
            free(argv);
            return -ENOMEM;
        }
    argv[n] = NULL;
    *ret = argv;
    return 0;
}

/* ---- volume versions ---- */

/* The volume a path belongs to (by its key, when given), or NULL; the version file is no one's file. */
static struct volume *volume_of(struct veil_shield_attest *a, const char *path, const uint8_t *key) {
    for (size_t i = 0; i < a->volume_count; i++) {
        struct volume *v = &a->volumes[i];
        if ((key && v->key != key) || !veil_shield_path_has_prefix(path, strlen(path), v->path)) continue;
        return strcmp(path, v->logical) ? v : NULL;
    }
    return NULL;
}

/* The volume changed: write its table at version + 1, and have the service record that version. */
static int volume_commit(struct veil_shield_attest *a, struct volume *v) {
    _cleanup_(veil_buf_done) struct veil_buf table = { 0 };
    uint64_t next = v->version + 1;
    int r = veil_volume_table_encode(&v->files, &table);
    if (r >= 0) r = veil_encfile_store(v->file, v->key, v->logical, next, table.data, table.size, 0600);
    if (r >= 0) {
        v->version = next;
        /* the write-back counts only once the service has recorded it: until then the caller's fsync fails */
        r = veil_casclient_report_volume(a->client, v->name, next);
    }
    if (r < 0) return veil_log_errno(r, "volume %s: version %llu not recorded: %s", v->name, (unsigned long long)next,
                                     veil_err_describe(r));
    veil_log_debug("volume %s: version %llu recorded", v->name, (unsigned long long)next);
    return 0;
}

/* A volume's files are stored at the version the volume is about to get: unique for the volume's
 * whole life, so no older copy of any of its files (even of an earlier file of the same name) can
 * carry the version recorded for that path. */
static uint64_t version_for(void *ctx, const char *path, const uint8_t *key, uint64_t proposed) {
    struct veil_shield_attest *a = ctx;
    struct volume *v = volume_of(a, path, key);
    if (!v) return proposed;
    pthread_mutex_lock(&a->lock);
    uint64_t next = v->version + 1;
    pthread_mutex_unlock(&a->lock);
    return next;
}

static int file_written(void *ctx, const char *path, const uint8_t *key, uint64_t version) {
    struct veil_shield_attest *a = ctx;
    struct volume *v = volume_of(a, path, key);
    if (!v) return 0; /* the image's code, scratch */
    pthread_mutex_lock(&a->lock);
    int r = veil_volume_table_set(&v->files, path, version);
    if (r >= 0) r = volume_commit(a, v);
    pthread_mutex_unlock(&a->lock);
    return r;
}

/* A file of a volume must be the version we wrote last: an older copy, or one we never wrote, is refused. */
static int file_loaded(void *ctx, const char *path, const uint8_t *key, uint64_t version) {
    struct veil_shield_attest *a = ctx;
    struct volume *v = volume_of(a, path, key);
    if (!v) return 0;
    pthread_mutex_lock(&a->lock);
    const uint64_t *want = veil_volume_table_get(&v->files, path);
    int r = !want ? veil_err(-EACCES, "not in volume %s's table (planted, or put back after its deletion)", v->name)
            : *want != version ? veil_err(-EACCES, "version %llu but volume %s recorded %llu: rolled back",
                                          (unsigned long long)version, v->name, (unsigned long long)*want)
                               : 0;
    pthread_mutex_unlock(&a->lock);
    return r;
}

static void file_removed(void *ctx, const char *path) {
    struct veil_shield_attest *a = ctx;
    struct volume *v = volume_of(a, path, NULL);
    if (!v) return;
    pthread_mutex_lock(&a->lock);
    /* a failure is logged; the entry is gone either way, so a put-back copy is refused */
    if (veil_volume_table_remove(&v->files, path) > 0) (void)volume_commit(a, v);
    pthread_mutex_unlock(&a->lock);
}

const struct veil_shield_vault_hooks *veil_shield_attest_vault_hooks(struct veil_shield_attest *a) {
    a->hooks = (struct veil_shield_vault_hooks){ .ctx = a, .version_for = version_for, .written = file_written, .loaded = file_loaded,
                                                 .removed = file_removed };
    return &a->hooks;
}
