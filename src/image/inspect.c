/* SPDX-License-Identifier: Apache-2.0 */
/* `veil inspect`: finds /veil/manifest and /veil/veil-run in an image, verifies the manifest, recomputes the identities. */
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fileio.h"
#include "image.h"
#include "layer.h"
#include "source.h"

#define MAX_RUNTIME_SIZE ((size_t)256 << 20)

/* Search the layers from the top for the two members (the veil layer is the last one). */
static int read_from_layers(struct image_source *s, uint8_t **ret_manifest, size_t *ret_manifest_size, uint8_t **ret_runtime,
                            size_t *ret_runtime_size) {
    for (size_t i = s->layer_count; i-- > 0;) {
        _cleanup_(image_layer_stream_freep) struct image_layer_stream *st = NULL;
        int r = image_layer_stream_open(s, i, false, &st);
        if (r < 0) return r;
        struct archive *a = image_layer_stream_archive(st);
        struct archive_entry *e;
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
            char path[VEIL_MANIFEST_MAX_PATH + 2];
            size_t path_size;
            const char *name = archive_entry_pathname(e);
            if (!name || image_path_normalise(name, path, sizeof(path), &path_size) < 0) continue;
            bool is_manifest = !strcmp(path, VEIL_MANIFEST_PATH), is_runtime = !strcmp(path, VEIL_IMAGE_RUNTIME_PATH);
            if (!is_manifest && !is_runtime) continue;
            size_t max = is_manifest ? VEIL_MANIFEST_MAX_SIZE : MAX_RUNTIME_SIZE;
            la_int64_t size = archive_entry_size(e);
            if (archive_entry_filetype(e) != AE_IFREG || size < 0 || (uint64_t)size > max)
                return veil_err(-EBADMSG, "%s in the image is not a regular file of a sane size", path);
            uint8_t *data = malloc((size_t)size + 1);
            if (!data) return -ENOMEM;
            if (archive_read_data(a, data, (size_t)size) != size) {
                free(data);
                return image_archive_err(a, "reading the veil layer");
            }
            free(is_manifest ? *ret_manifest : *ret_runtime);
            *(is_manifest ? ret_manifest : ret_runtime) = data;
            *(is_manifest ? ret_manifest_size : ret_runtime_size) = (size_t)size;
        }
        if (r != ARCHIVE_EOF) return image_archive_err(a, "corrupt layer");
        if (*ret_manifest && *ret_runtime) return 0;
    }
    return veil_err(-ENOENT, "the image has no %s and %s: is it wrapped?", VEIL_MANIFEST_PATH, VEIL_IMAGE_RUNTIME_PATH);
}

static char *label(const struct image_source *s, const char *name) {
    json_t *labels = json_object_get(json_object_get(s->config->root, "config"), "Labels");
    const char *v = json_string_value(json_object_get(labels, name));
    return v ? strdup(v) : NULL;
}

int veil_image_inspect(const char *path, struct veil_image_info *ret) {
    struct veil_image_info info = { 0 };
    _cleanup_free_ uint8_t *manifest = NULL, *runtime = NULL;
    size_t manifest_size = 0, runtime_size = 0;
    _cleanup_(image_source_freep) struct image_source *s = NULL;
    int r = image_source_open(path, &s);
    if (r < 0) return r;
    if (s->kind == IMAGE_INPUT_ROOTFS) {
        _cleanup_free_ char *mp = NULL, *rp = NULL;
        if (asprintf(&mp, "%s%s", path, VEIL_MANIFEST_PATH) < 0 || asprintf(&rp, "%s%s", path, VEIL_IMAGE_RUNTIME_PATH) < 0)
            return -ENOMEM;
        if ((r = veil_read_file(mp, VEIL_MANIFEST_MAX_SIZE, &manifest, &manifest_size)) < 0)
            return veil_err(r, "cannot read %s: is it a wrapped directory?", mp);
        if ((r = veil_read_file(rp, MAX_RUNTIME_SIZE, &runtime, &runtime_size)) < 0) return veil_err(r, "cannot read %s", rp);
    } else {
        if ((r = read_from_layers(s, &manifest, &manifest_size, &runtime, &runtime_size)) < 0) return r;
        info.label_measurement = label(s, VEIL_IMAGE_LABEL_MEASUREMENT);
        info.label_signer = label(s, VEIL_IMAGE_LABEL_SIGNER);
    }
    info.kind = strdup(image_input_kind_name(s->kind));
    uint8_t digest[VEIL_SHA256_SIZE];
    if ((r = veil_manifest_load(manifest, manifest_size, &info.manifest)) < 0 ||
        (r = veil_sha256(runtime, runtime_size, info.runtime_digest)) < 0)
        goto fail;
    veil_manifest_digest(info.manifest, digest);
    veil_manifest_signer_id(info.manifest, info.signer_id);
    if ((r = veil_manifest_measurement(info.runtime_digest, digest, info.measurement)) < 0) goto fail;
    *ret = info;
    return 0;
fail:
    veil_image_info_done(&info);
    return r;
}

void veil_image_info_done(struct veil_image_info *info) {
    veil_manifest_free(info->manifest);
    free(info->label_measurement);
    free(info->label_signer);
    free(info->kind);
    *info = (struct veil_image_info){ 0 };
}
