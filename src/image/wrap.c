/* SPDX-License-Identifier: Apache-2.0 */
/* `veil wrap`: flatten, measure, encrypt, sign, and write the wrapped image (OCI, docker-archive or directory). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/key.h"
#include "elf.h"
#include "emit.h"
#include "flatten.h"
#include "image.h"
#include "layer.h"
#include "oci.h"
#include "rules.h"
#include "sink.h"
#include "startup.h"
#include "ustar.h"

#define MAX_RUNTIME_SIZE ((size_t)256 << 20)

/* ---- the layer writer: libarchive's tar output into a hashing sink that writes the outer file ---- */

static la_ssize_t sink_write(struct archive *a, void *userdata, const void *buf, size_t size) {
    int r = image_sink_write(userdata, buf, size);
    if (r < 0) {
        archive_set_error(a, -r, "writing the output layer");
        return -1;
    }
    return (la_ssize_t)size;
}

/* No blocking in libarchive (bytes_per_block 0): data goes straight to the sink, which buffers. */
static struct archive *tar_writer(void) {
    struct archive *w = archive_write_new();
    if (!w) return NULL;
    if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK || archive_write_set_bytes_per_block(w, 0) != ARCHIVE_OK) {
        archive_write_free(w);
        return NULL;
    }
    return w;
}

/* ---- the manifest ---- */

static int add_entries(struct image_tree *t, const struct image_rules *rs, struct veil_manifest_builder *b,
                       struct veil_wrap_result *res) {
    _cleanup_free_ struct image_node **nodes = NULL;
    size_t count;
    int r = image_tree_list(t, &nodes, &count);
    if (r < 0) return r;
    for (size_t i = 0; i < count; i++) {
        struct image_node *n = nodes[i];
        const struct image_rule *rule = image_rules_match(rs, n->path, n->path_size);
        if (rule && rule->class != VEIL_MANIFEST_ENCRYPTED) {
            res->unlisted_count++;
            continue;
        }
        struct veil_manifest_entry e = { .path = n->path, .mode = n->mode, .uid = n->uid, .gid = n->gid, .size = n->size };
        switch (n->type) {
        case IMAGE_NODE_DIR:
            e.class = VEIL_MANIFEST_DIRECTORY;
            res->directory_count++;
            break;
        case IMAGE_NODE_SYMLINK:
            e.class = VEIL_MANIFEST_SYMLINK;
            e.target = n->target;
            res->symlink_count++;
            break;
        case IMAGE_NODE_FILE:
            e.class = n->encrypted ? VEIL_MANIFEST_ENCRYPTED : VEIL_MANIFEST_TRUSTED;
            e.key_name = n->encrypted ? VEIL_MANIFEST_IMAGE_KEY : NULL;
            memcpy(e.sha256, n->sha256, VEIL_SHA256_SIZE);
            if (n->encrypted)
                res->encrypted_count++;
            else
                res->trusted_count++;
            break;
        }
        if ((r = veil_manifest_builder_add_entry(b, &e)) < 0) return r;
    }
    return 0;
}

/* ---- the veil layer: /veil, /veil/veil-run, /veil/manifest with fixed metadata ---- */

static int write_veil_entries(struct archive *w, const char *prefix, const uint8_t *runtime, size_t runtime_size,
                              const uint8_t *manifest, size_t manifest_size) {
    struct {
        const char *name;
        unsigned type, mode;
        const uint8_t *data;
        size_t size;
    } items[] = {
        { "veil", AE_IFDIR, 0755, NULL, 0 },
        { "veil/manifest", AE_IFREG, 0444, manifest, manifest_size },
        { "veil/veil-run", AE_IFREG, 0755, runtime, runtime_size },
    };
    for (size_t i = 0; i < ELEMENTSOF(items); i++) {
        struct archive_entry *ae = archive_entry_new();
        _cleanup_free_ char *name = NULL;
        if (!ae || asprintf(&name, "%s%s", prefix, items[i].name) < 0) {
            if (ae) archive_entry_free(ae);
            return -ENOMEM;
        }
        archive_entry_set_pathname(ae, name);
        archive_entry_set_filetype(ae, items[i].type);
        archive_entry_set_perm(ae, items[i].mode);
        archive_entry_set_mtime(ae, 0, 0);
        archive_entry_set_size(ae, (la_int64_t)items[i].size);
        int r = archive_write_header(w, ae);
        archive_entry_free(ae);
        if (r != ARCHIVE_OK) return veil_err(-EIO, "writing /veil: %s", archive_error_string(w));
        if (items[i].size && archive_write_data(w, items[i].data, items[i].size) != (la_ssize_t)items[i].size)
            return veil_err(-EIO, "writing /veil: %s", archive_error_string(w));
    }
    return 0;
}

/* ---- the whole conversion ---- */

struct wrap_state {
    const struct veil_wrap_options *o;
    /* how many of the input's lowest layers are kept unchanged (no file to encrypt in them);
     * verbatim: all of them, else the layers above are flattened into one new layer */
    size_t kept;
    bool verbatim;
    char **whiteouts; /* with some layers kept: the paths of theirs the new layer hides */
    size_t whiteout_count;
    struct image_source *source;
    int root_fd;
    struct image_tree *tree;
    struct image_rules rules;
    char *tmp_dir; /* the output's directory: large ciphertexts are encoded in an unnamed file there */
    struct image_progress progress;
};

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path) {
    if (path) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int make_rules(struct wrap_state *w) {
    int r = image_rules_add_defaults(&w->rules);
    for (size_t i = 0; r >= 0 && i < w->o->passthrough_count; i++)
        r = image_rules_add(&w->rules, w->o->passthrough[i], VEIL_MANIFEST_PASSTHROUGH);
    for (size_t i = 0; r >= 0 && i < w->o->encrypt_count; i++) {
        if (!strcmp(w->o->encrypt[i], "/")) return veil_err(-EINVAL, "--encrypt / would encrypt the runtime's libraries too; name the application's directories");
        r = image_rules_add(&w->rules, w->o->encrypt[i], VEIL_MANIFEST_ENCRYPTED);
    }
    for (size_t i = 0; r >= 0 && i < w->o->volume_count; i++) r = image_rules_add_volume(&w->rules, w->o->volumes[i]);
    /* the manifest refuses rules below passthrough or ephemeral ones: say so now, not after the copy */
    for (size_t i = 0; r >= 0 && i < w->rules.count; i++)
        for (size_t j = 0; j < w->rules.count; j++) {
            const struct image_rule *a = &w->rules.v[i], *b = &w->rules.v[j];
            if (i == j || b->class == VEIL_MANIFEST_ENCRYPTED || a->size <= b->size) continue;
            if (image_rules_match(&(struct image_rules){ .v = (struct image_rule *)b, .count = 1 }, a->path, a->size))
                return veil_err(-EINVAL, "%s lies below %s, which is %s", a->path, b->path, veil_manifest_class_name(b->class));
        }
    return r;
}

/*
 * How many of the input's lowest layers can be kept byte for byte: those below the
 * first layer that holds a regular file below an encrypted path (not even one a later
 * layer deleted or replaced: it would stay in the image in plaintext), as far as the
 * output format can carry them as they are. The layers above are flattened into one.
 */
static size_t keepable_layers(struct wrap_state *w) {
    if (!w->source || w->o->format == VEIL_WRAP_DIR) return 0;
    size_t k = w->source->layer_count;
    for (size_t i = 0; i < k; i++)
        if (w->o->format == VEIL_WRAP_DOCKER_ARCHIVE && w->source->layers[i].compressed) k = i;
    struct image_tree *t = w->tree;
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct image_node *n = t->buckets[i]; n; n = n->hash_next) {
            const struct image_rule *rule = n->was_file ? image_rules_match(&w->rules, n->path, n->path_size) : NULL;
            if (rule && rule->class == VEIL_MANIFEST_ENCRYPTED) k = MIN(k, (size_t)n->first_file_layer);
        }
    /* a hard link is written in the same layer as its target: none may straddle the line */
    for (bool moved = true; moved && k > 0;) {
        moved = false;
        for (size_t i = 0; i < t->bucket_count; i++)
            for (struct image_node *n = t->buckets[i]; n; n = n->hash_next)
                if (n->present && n->type == IMAGE_NODE_FILE && n->src_layer < k && n->layer >= k) {
                    k = n->src_layer;
                    moved = true;
                }
    }
    return k;
}

static void free_whiteouts(struct wrap_state *w) {
    for (size_t i = 0; i < w->whiteout_count; i++) free(w->whiteouts[i]);
    free(w->whiteouts);
    w->whiteouts = NULL;
    w->whiteout_count = 0;
}

/*
 * What the kept layers show and the image does not: the new layer hides it. Only the
 * topmost such path needs a whiteout (one whose parent is still a directory); a path
 * whose type changed is replaced by the new layer's own entry.
 */
static int find_whiteouts(struct wrap_state *w) {
    _cleanup_(image_tree_freep) struct image_tree *lower = NULL;
    _cleanup_free_ struct image_node **nodes = NULL;
    size_t count;
    int r = image_flatten_prefix(w->source, w->kept, &lower);
    if (r < 0 || (r = image_tree_list(lower, &nodes, &count)) < 0) return r;
    if (!(w->whiteouts = calloc(MAX(count, (size_t)1), sizeof(*w->whiteouts)))) return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const struct image_node *n = nodes[i];
        if (n == lower->root || image_tree_get(w->tree, n->path)) continue;
        char parent[VEIL_MANIFEST_MAX_PATH + 2];
        size_t slash = (size_t)(strrchr(n->path, '/') - n->path);
        snprintf(parent, sizeof(parent), "%.*s", (int)(slash ? slash : 1), n->path);
        const struct image_node *p = image_tree_get(w->tree, parent);
        if (!p || p->type != IMAGE_NODE_DIR) continue;
        if (!(w->whiteouts[w->whiteout_count] = strdup(n->path))) return -ENOMEM;
        w->whiteout_count++;
    }
    return 0;
}

/* Mark regular files below encrypted rules. */
static void mark_encrypted(struct wrap_state *w, uint64_t *ret_content) {
    _cleanup_free_ struct image_node **nodes = NULL;
    size_t count;
    *ret_content = 0;
    if (image_tree_list(w->tree, &nodes, &count) < 0) return;
    for (size_t i = 0; i < count; i++) {
        struct image_node *n = nodes[i];
        if (n->type != IMAGE_NODE_FILE) continue;
        *ret_content += n->size;
        const struct image_rule *rule = image_rules_match(&w->rules, n->path, n->path_size);
        n->encrypted = rule && rule->class == VEIL_MANIFEST_ENCRYPTED;
    }
}

static int build_manifest(struct wrap_state *w, struct veil_wrap_result *res, uint8_t **ret_data, size_t *ret_size,
                          uint8_t body_digest[VEIL_SHA256_SIZE]) {
    _cleanup_(veil_manifest_builder_freep) struct veil_manifest_builder *b = NULL;
    int r = veil_manifest_builder_new(&b);
    if (r < 0) return r;
    if ((r = image_startup_configure(w->o, w->source, w->root_fd, w->tree, b)) < 0) return r;
    for (size_t i = 0; i < w->rules.count; i++)
        if ((r = veil_manifest_builder_add_rule(b, w->rules.v[i].path, w->rules.v[i].class,
                                                w->rules.v[i].class != VEIL_MANIFEST_ENCRYPTED ? NULL
                                                : w->rules.v[i].key[0]                        ? w->rules.v[i].key
                                                                                              : VEIL_MANIFEST_IMAGE_KEY)) < 0)
            return r;
    if ((r = add_entries(w->tree, &w->rules, b, res)) < 0) return r;
    _cleanup_free_ uint8_t *body = NULL;
    size_t body_size;
    if ((r = veil_manifest_builder_encode(b, &body, &body_size)) < 0) return r;
    if ((r = veil_sha256(body, body_size, body_digest)) < 0) return r;
    return veil_manifest_sign(body, body_size, w->o->signer, ret_data, ret_size);
}

static int write_key(const struct veil_wrap_options *o) {
    if (!o->key_out || o->encrypt_count == 0) return 0;
    int r = veil_write_file_atomic(o->key_out, o->image_key, VEIL_IMAGE_KEY_SIZE, 0600);
    return r < 0 ? veil_err(r, "cannot write the image key to %s", o->key_out) : 0;
}

static int finish_labels(struct veil_wrap_result *res, const uint8_t runtime_digest[32], const uint8_t body_digest[32],
                         char measurement[65], char signer[65]) {
    int r = veil_manifest_measurement(runtime_digest, body_digest, res->measurement);
    if (r < 0) return r;
    veil_hex_encode(res->measurement, VEIL_SHA256_SIZE, measurement);
    veil_hex_encode(res->signer_id, VEIL_SHA256_SIZE, signer);
    return 0;
}

/* The directory output: the flattened tree plus /veil, through libarchive's disk writer. */
static int wrap_to_dir(struct wrap_state *w, const uint8_t *runtime, size_t runtime_size, struct veil_wrap_result *res) {
    const struct veil_wrap_options *o = w->o;
    _cleanup_free_ char *out = strdup(o->output);
    if (!out) return -ENOMEM;
    while (strlen(out) > 1 && out[strlen(out) - 1] == '/') out[strlen(out) - 1] = 0;
    if (access(out, F_OK) == 0) return veil_err(-EEXIST, "output directory %s exists already", out);
    _cleanup_free_ char *staging = NULL;
    if (asprintf(&staging, "%s.veil-tmp-XXXXXX", out) < 0) return -ENOMEM;
    if (!mkdtemp(staging)) return veil_err(-errno, "cannot create %s", staging);
    _cleanup_free_ char *prefix = NULL;
    if (asprintf(&prefix, "%s/", staging) < 0) return -ENOMEM;

    struct archive *disk = archive_write_disk_new();
    int r = disk ? 0 : -ENOMEM;
    if (r >= 0) {
        int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
        if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
        archive_write_disk_set_options(disk, flags);
        struct image_emit e = { .source = w->source, .root_fd = w->root_fd, .tree = w->tree, .writer = disk,
                                .name_prefix = prefix, .key = o->image_key, .tmp_dir = w->tmp_dir,
                                .progress = &w->progress };
        r = image_emit(&e);
    }
    _cleanup_free_ uint8_t *manifest = NULL;
    size_t manifest_size;
    uint8_t body_digest[VEIL_SHA256_SIZE], runtime_digest[VEIL_SHA256_SIZE];
    char measurement[65], signer[65];
    if (r >= 0) r = build_manifest(w, res, &manifest, &manifest_size, body_digest);
    if (r >= 0) r = write_veil_entries(disk, prefix, runtime, runtime_size, manifest, manifest_size);
    if (r >= 0 && archive_write_close(disk) != ARCHIVE_OK) r = veil_err(-EIO, "writing %s: %s", out, archive_error_string(disk));
    if (disk) archive_write_free(disk);
    /* the root directory itself is no entry: give it the image's mode */
    if (r >= 0 && chmod(staging, w->tree->root->mode) < 0) r = veil_err(-errno, "cannot set the mode of %s", staging);
    if (r >= 0) r = veil_sha256(runtime, runtime_size, runtime_digest);
    if (r >= 0) r = finish_labels(res, runtime_digest, body_digest, measurement, signer);
    if (r >= 0) r = write_key(o);
    if (r >= 0 && rename(staging, out) < 0) {
        r = veil_err(-errno, "cannot rename %s to %s", staging, out);
        if (o->key_out && o->encrypt_count) unlink(o->key_out);
    }
    if (r < 0) remove_tree(staging);
    return r;
}

/* Stream one layer into the outer archive behind a reserved header slot, named by its digest. */
struct layer_fill {
    struct wrap_state *w;
    const uint8_t *runtime, *manifest;
    size_t runtime_size, manifest_size;
};

static int fill_layer(struct archive *tw, const struct layer_fill *f) {
    if (!f->runtime) {
        /* the flattened image, or with lower layers kept the flattened layers above them */
        struct image_emit e = { .source = f->w->source, .root_fd = f->w->root_fd, .tree = f->w->tree, .writer = tw,
                                .name_prefix = "", .key = f->w->o->image_key, .tmp_dir = f->w->tmp_dir,
                                .progress = &f->w->progress, .layer_begin = f->w->kept,
                                .whiteouts = f->w->whiteouts, .whiteout_count = f->w->whiteout_count };
        return image_emit(&e);
    }
    return write_veil_entries(tw, "", f->runtime, f->runtime_size, f->manifest, f->manifest_size);
}

static int write_layer(struct image_ustar *u, bool docker, const struct layer_fill *f, char digest[72], uint64_t *ret_size) {
    uint64_t header;
    int r = image_ustar_begin(u, &header);
    if (r < 0) return r;
    _cleanup_(image_sink_freep) struct image_sink *sink = NULL;
    if ((r = image_sink_new(u->fd, u->offset, &sink)) < 0) return r;
    struct archive *tw = tar_writer();
    if (!tw) return -ENOMEM;
    if (archive_write_open2(tw, sink, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
        r = veil_err(-EIO, "cannot start an output layer");
    else {
        r = fill_layer(tw, f);
        if (r >= 0 && archive_write_close(tw) != ARCHIVE_OK) r = veil_err(-EIO, "writing an output layer: %s", archive_error_string(tw));
    }
    archive_write_free(tw);
    uint8_t d[VEIL_SHA256_SIZE];
    uint64_t size;
    if (r < 0 || (r = image_sink_finish(sink, d, &size)) < 0) return r;
    u->offset += size;
    image_digest_string(d, digest);
    char name[128];
    snprintf(name, sizeof(name), docker ? "%s/layer.tar" : "blobs/sha256/%s", digest + 7);
    if ((r = image_ustar_end(u, header, name, size)) < 0) return r;
    *ret_size = size;
    return 0;
}

/* The archive outputs: the image's layers (kept, flattened, or the lower ones kept and the rest flattened) and
   the veil layer, inside an OCI or docker archive. */
static int wrap_to_archive(struct wrap_state *w, const uint8_t *runtime, size_t runtime_size, struct veil_wrap_result *res) {
    const struct veil_wrap_options *o = w->o;
    bool docker = o->format == VEIL_WRAP_DOCKER_ARCHIVE;
    struct veil_atomic_file af = { .fd = -1 };
    int r = veil_atomic_begin(o->output, 0644, &af);
    if (r < 0) return veil_err(r, "cannot create %s", o->output);
    struct image_ustar u = { .fd = af.fd };
    char layer_digest[72], veil_digest[72], config_digest[72], manifest_digest[72], name[128];
    uint64_t layer_size, veil_size;
    json_t *oci_layers = NULL, *docker_layers = NULL;
    _cleanup_free_ uint8_t *manifest = NULL;
    _cleanup_free_ char *config = NULL, *image_manifest = NULL, *index = NULL;
    size_t manifest_size, config_size;
    uint8_t body_digest[VEIL_SHA256_SIZE], runtime_digest[VEIL_SHA256_SIZE];
    char measurement[65], signer[65];

    if (!docker && ((r = image_ustar_add_file(&u, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30)) < 0 ||
                    (r = image_ustar_add_dir(&u, "blobs/")) < 0 || (r = image_ustar_add_dir(&u, "blobs/sha256/")) < 0))
        goto fail;
    /* the image's layers: kept as they are, or flattened into one; then the manifest (it
     * needs the files' hashes) and the veil layer */
    oci_layers = json_array();
    docker_layers = json_array();
    if (!oci_layers || !docker_layers) {
        r = -ENOMEM;
        goto fail;
    }
    if (w->kept) {
        /* the kept layers, copied as they are (their files hashed on the way) */
        struct image_emit e = { .source = w->source, .root_fd = -1, .tree = w->tree, .tmp_dir = w->tmp_dir,
                                .progress = &w->progress, .verbatim = &u, .docker_names = docker, .layer_end = w->kept };
        if ((r = image_emit(&e)) < 0) goto fail;
        for (size_t i = 0; i < w->kept; i++) {
            const struct image_layer_ref *l = &w->source->layers[i];
            if ((r = image_oci_add_layer(oci_layers, docker_layers, image_oci_layer_media_type(l), l->digest, (uint64_t)l->size)) < 0)
                goto fail;
        }
    }
    if (!w->verbatim) {
        struct layer_fill flat = { .w = w };
        if ((r = write_layer(&u, docker, &flat, layer_digest, &layer_size)) < 0 ||
            (r = image_oci_add_layer(oci_layers, docker_layers, IMAGE_MEDIA_LAYER, layer_digest, layer_size)) < 0)
            goto fail;
    }
    if ((r = build_manifest(w, res, &manifest, &manifest_size, body_digest)) < 0) goto fail;
    struct layer_fill veil = { .w = w, .runtime = runtime, .runtime_size = runtime_size, .manifest = manifest,
                               .manifest_size = manifest_size };
    if ((r = write_layer(&u, docker, &veil, veil_digest, &veil_size)) < 0 ||
        (r = image_oci_add_layer(oci_layers, docker_layers, IMAGE_MEDIA_LAYER, veil_digest, veil_size)) < 0)
        goto fail;

    /* config, manifest, index */
    if ((r = veil_sha256(runtime, runtime_size, runtime_digest)) < 0 ||
        (r = finish_labels(res, runtime_digest, body_digest, measurement, signer)) < 0 ||
        (r = image_oci_config(w->source, w->kept, w->verbatim ? NULL : layer_digest, veil_digest, measurement, signer, &config, &config_size)) < 0 ||
        (r = image_sha256_string(config, config_size, config_digest)) < 0)
        goto fail;
    if (docker) {
        snprintf(name, sizeof(name), "%s.json", config_digest + 7);
        if ((r = image_ustar_add_file(&u, name, config, config_size)) < 0) goto fail;
        image_manifest = image_json_dump(json_pack("[{s:s, s:[s], s:O}]", "Config", name, "RepoTags", o->tag, "Layers", docker_layers));
        if (!image_manifest) {
            r = -ENOMEM;
            goto fail;
        }
        if ((r = image_ustar_add_file(&u, "manifest.json", image_manifest, strlen(image_manifest))) < 0) goto fail;
    } else {
        snprintf(name, sizeof(name), "blobs/sha256/%s", config_digest + 7);
        if ((r = image_ustar_add_file(&u, name, config, config_size)) < 0) goto fail;
        image_manifest = image_json_dump(json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType", IMAGE_MEDIA_MANIFEST,
                                        "config", "mediaType", IMAGE_MEDIA_CONFIG, "digest", config_digest, "size", (json_int_t)config_size,
                                        "layers", oci_layers));
        if (!image_manifest || (r = image_sha256_string(image_manifest, strlen(image_manifest), manifest_digest)) < 0) {
            r = r < 0 ? r : -ENOMEM;
            goto fail;
        }
        snprintf(name, sizeof(name), "blobs/sha256/%s", manifest_digest + 7);
        if ((r = image_ustar_add_file(&u, name, image_manifest, strlen(image_manifest))) < 0) goto fail;
        index = image_json_dump(json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
                               "mediaType", IMAGE_MEDIA_MANIFEST, "digest", manifest_digest, "size", (json_int_t)strlen(image_manifest),
                               "annotations", "org.opencontainers.image.ref.name", o->tag));
        if (!index) {
            r = -ENOMEM;
            goto fail;
        }
        if ((r = image_ustar_add_file(&u, "index.json", index, strlen(index))) < 0) goto fail;
    }
    if ((r = image_ustar_finish(&u)) < 0 || (r = write_key(o)) < 0) goto fail;
    json_decref(oci_layers);
    json_decref(docker_layers);
    if ((r = veil_atomic_commit(&af)) < 0) {
        if (o->key_out && o->encrypt_count) unlink(o->key_out);
        return veil_err(r, "cannot write %s", o->output);
    }
    return 0;
fail:
    json_decref(oci_layers);
    json_decref(docker_layers);
    veil_atomic_abort(&af);
    return r;
}

int veil_image_wrap(const struct veil_wrap_options *o, struct veil_wrap_result *ret) {
    struct wrap_state w = { .o = o, .root_fd = -1 };
    struct veil_wrap_result res = { 0 };
    _cleanup_free_ char *dir_copy = NULL;
    _cleanup_free_ uint8_t *runtime = NULL;
    size_t runtime_size;
    int r;
    if (o->encrypt_count && !o->image_key) return veil_err(-EINVAL, "encrypting needs an image key");
    if ((r = veil_read_file(o->runtime, MAX_RUNTIME_SIZE, &runtime, &runtime_size)) < 0)
        return veil_err(r, "cannot read the runtime %s", o->runtime);
    if ((r = image_elf_check_static(runtime, runtime_size)) < 0) return r;
    if ((r = veil_key_id(o->signer, res.signer_id)) < 0) return r;
    if ((r = make_rules(&w)) < 0) goto out;

    if ((r = image_source_open(o->input, &w.source)) < 0) goto out;
    if (w.source->kind == IMAGE_INPUT_ROOTFS) {
        image_source_free(TAKE_PTR(w.source));
        if ((w.root_fd = open(o->input, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            r = veil_err(-errno, "cannot open %s", o->input);
            goto out;
        }
    }
    image_progress_start(&w.progress, o->progress, "reading", w.source ? w.source->total_size : 0);
    r = image_flatten(w.source, w.root_fd, &w.progress, &w.tree);
    image_progress_end(&w.progress);
    if (r < 0) goto out;
    if (image_tree_get(w.tree, "/veil")) {
        r = veil_err(-EEXIST, "the input already has /veil (is it wrapped already?)");
        goto out;
    }
    mark_encrypted(&w, &res.content_size);
    if ((r = image_rules_check_volumes_empty(&w.rules, w.tree)) < 0) goto out;
    w.kept = keepable_layers(&w);
    w.verbatim = w.source && w.kept == w.source->layer_count;
    if (w.kept && !w.verbatim && (r = find_whiteouts(&w)) < 0) goto out;
    /* the start-up configuration is decided again after the copy (from verified bytes);
     * deciding it now makes a wrong --user or --entrypoint fail before the long part */
    {
        _cleanup_(veil_manifest_builder_freep) struct veil_manifest_builder *check = NULL;
        if ((r = veil_manifest_builder_new(&check)) < 0 ||
            (r = image_startup_configure(o, w.source, w.root_fd, w.tree, check)) < 0)
            goto out;
    }

    /* large ciphertexts are encoded in an unnamed file next to the output (emit.c): no name, nothing to clean up */
    dir_copy = strdup(o->output);
    if (!dir_copy || !(w.tmp_dir = strdup(dirname(dir_copy)))) {
        r = -ENOMEM;
        goto out;
    }

    image_progress_start(&w.progress, o->progress, "writing", res.content_size);
    if (o->format == VEIL_WRAP_DIR)
        r = wrap_to_dir(&w, runtime, runtime_size, &res);
    else
        r = wrap_to_archive(&w, runtime, runtime_size, &res);
    image_progress_end(&w.progress);
    if (r >= 0) *ret = res;
out:
    free_whiteouts(&w);
    free(w.tmp_dir);
    image_rules_done(&w.rules);
    image_tree_free(w.tree);
    image_source_free(w.source);
    if (w.root_fd >= 0) close(w.root_fd);
    return r;
}

int veil_image_find_runtime(char **ret) {
    const char *env = getenv("VEIL_RUNTIME");
    if (env && *env) return (*ret = strdup(env)) ? 0 : -ENOMEM;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0) return -errno;
    self[n] = 0;
    char *dir = dirname(self);
    const char *candidates[] = { "../shield/veil-run", "../libexec/veil/veil-run" };
    for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, candidates[i]) < 0) return -ENOMEM;
        if (access(p, X_OK) == 0) {
            *ret = p;
            return 0;
        }
        free(p);
    }
    return veil_err(-ENOENT, "veil-run not found (give --runtime PATH or set VEIL_RUNTIME)");
}
