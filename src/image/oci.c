/* SPDX-License-Identifier: Apache-2.0 */
/* Writes the wrapped image's config and manifest documents (jansson, compact, sorted keys). */
#include "oci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/fileio.h"
#include "image.h"

void image_digest_string(const uint8_t d[VEIL_SHA256_SIZE], char out[72]) {
    char hex[2 * VEIL_SHA256_SIZE + 1];
    veil_hex_encode(d, VEIL_SHA256_SIZE, hex);
    snprintf(out, 72, "sha256:%s", hex);
}

int image_sha256_string(const void *data, size_t size, char out[72]) {
    uint8_t d[VEIL_SHA256_SIZE];
    char hex[2 * VEIL_SHA256_SIZE + 1];
    int r = veil_sha256(data, size, d);
    if (r < 0) return r;
    veil_hex_encode(d, sizeof(d), hex);
    snprintf(out, 72, "sha256:%s", hex);
    return 0;
}

static const char *go_arch(void) {
    struct utsname u;
    if (uname(&u) < 0) return "amd64";
    if (!strcmp(u.machine, "aarch64")) return "arm64";
    return "amd64";
}

/* The input's history up to its kept-th entry that made a layer, or NULL when it does not say that much. */
static json_t *kept_history(json_t *history, size_t kept) {
    if (!json_is_array(history)) return NULL;
    json_t *out = json_array();
    size_t layers = 0, i;
    json_t *h;
    json_array_foreach(history, i, h) {
        if (layers == kept) break;
        json_array_append(out, h);
        if (!json_is_true(json_object_get(h, "empty_layer"))) layers++;
    }
    if (layers != kept) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int image_oci_config(const struct image_source *s, size_t kept, const char *layer_diff, const char *veil_diff,
                     const char *measurement, const char *signer, char **ret, size_t *ret_size) {
    json_t *root = s && s->config ? json_deep_copy(s->config->root) : json_pack("{s:s, s:s, s:s}", "architecture", go_arch(), "os", "linux", "created", "1970-01-01T00:00:00Z");
    if (!root) return -ENOMEM;
    json_t *cfg = json_object_get(root, "config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(root, "config", cfg);
    }
    json_object_set_new(cfg, "Entrypoint", json_pack("[s]", VEIL_IMAGE_RUNTIME_PATH));
    json_object_set_new(cfg, "Cmd", json_array());
    json_object_set_new(cfg, "WorkingDir", json_string("/"));
    json_object_del(cfg, "User");
    json_object_del(cfg, "Env");
    json_object_del(root, "container_config");
    json_object_del(root, "container");
    json_t *labels = json_object_get(cfg, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(cfg, "Labels", labels);
    }
    json_object_set_new(labels, VEIL_IMAGE_LABEL_MEASUREMENT, json_string(measurement));
    json_object_set_new(labels, VEIL_IMAGE_LABEL_SIGNER, json_string(signer));
    if (layer_diff && kept) {
        /* the input's lower layers kept: their diff ids and history, then the flattened layers above, then veil's */
        json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids"), *kept_ids = json_array();
        for (size_t i = 0; i < kept; i++) json_array_append(kept_ids, json_array_get(ids, i));
        json_array_append_new(kept_ids, json_string(layer_diff));
        json_array_append_new(kept_ids, json_string(veil_diff));
        json_object_set_new(root, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", kept_ids));
        json_t *history = kept_history(json_object_get(root, "history"), kept);
        if (history) {
            json_array_append_new(history, json_pack("{s:s}", "created_by", "veil wrap: the layers above, flattened"));
            json_array_append_new(history, json_pack("{s:s}", "created_by", "veil wrap: /veil/veil-run and /veil/manifest"));
            json_object_set_new(root, "history", history);
        } else
            json_object_del(root, "history");
    } else if (layer_diff) {
        json_object_set_new(root, "rootfs", json_pack("{s:s, s:[s,s]}", "type", "layers", "diff_ids", layer_diff, veil_diff));
        json_object_set_new(root, "history", json_pack("[{s:s}, {s:s}]", "created_by", "veil wrap: the flattened image",
                                                       "created_by", "veil wrap: /veil/veil-run and /veil/manifest"));
    } else {
        /* the input's layers kept as they are: their diff ids and history, then the veil layer's */
        json_t *rootfs = json_object_get(root, "rootfs"), *ids = json_object_get(rootfs, "diff_ids");
        json_t *history = json_object_get(root, "history");
        json_array_append_new(ids, json_string(veil_diff));
        if (json_is_array(history))
            json_array_append_new(history, json_pack("{s:s}", "created_by", "veil wrap: /veil/veil-run and /veil/manifest"));
        else
            json_object_del(root, "history");
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) return -ENOMEM;
    *ret = text;
    *ret_size = strlen(text);
    return 0;
}

char *image_json_dump(json_t *j) {
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

const char *image_oci_layer_media_type(const struct image_layer_ref *l) {
    if (!l->compressed) return IMAGE_MEDIA_LAYER;
    if (strstr(l->media_type, "zstd")) return IMAGE_MEDIA_LAYER "+zstd";
    if (strstr(l->media_type, "gzip")) return IMAGE_MEDIA_LAYER "+gzip";
    return l->media_type;
}

int image_oci_add_layer(json_t *oci, json_t *docker, const char *media_type, const char *digest, uint64_t size) {
    char name[80];
    snprintf(name, sizeof(name), "%s/layer.tar", digest + 7);
    if (json_array_append_new(oci, json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                                             (json_int_t)size)) < 0 ||
        json_array_append_new(docker, json_string(name)) < 0)
        return -ENOMEM;
    return 0;
}

