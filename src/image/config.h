/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers of the JSON documents of an image: config, OCI index and manifest, docker manifest.json. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

#define IMAGE_JSON_MAX_SIZE ((size_t)16 << 20)
#define IMAGE_MAX_LAYERS 1024u
#define IMAGE_MAX_STRINGS 65536u /* elements of Entrypoint, Cmd, Env */

/* Strings borrow from `root`, which the struct owns. */
struct image_config {
    json_t *root;
    const char **entrypoint; /* NULL-terminated; empty when unset */
    size_t entrypoint_count;
    const char **cmd;
    size_t cmd_count;
    const char **env;
    size_t env_count;
    const char *workdir; /* "" when unset */
    const char *user;    /* "" when unset */
    const char **diff_ids;
    size_t diff_id_count;
};

int image_config_parse(const void *data, size_t size, struct image_config **ret) _warn_unused_;
void image_config_free(struct image_config *c);
VEIL_DEFINE_CLEANUP(struct image_config *, image_config_free, image_config_freep)

/* A content descriptor: media type, "sha256:<64 hex>" digest, size. */
struct image_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
};

/* An image manifest (OCI, or docker's v2 schema 2): config and layers. */
struct image_manifest {
    struct image_descriptor config;
    struct image_descriptor *layers;
    size_t layer_count;
};
void image_manifest_done(struct image_manifest *m);

/* index.json: the single image manifest it names (or the linux/amd64 one); -EBADMSG when none. */
int image_index_parse(const void *data, size_t size, struct image_descriptor *ret) _warn_unused_;
/* An image manifest (a nested index is refused). */
int image_manifest_parse(const void *data, size_t size, struct image_manifest *ret) _warn_unused_;

/* docker-archive manifest.json: first image's config path and layer paths (relative, checked). */
struct image_docker_manifest {
    char *config;
    char **layers;
    size_t layer_count;
};
int image_docker_manifest_parse(const void *data, size_t size, struct image_docker_manifest *ret) _warn_unused_;
void image_docker_manifest_done(struct image_docker_manifest *m);

void image_descriptor_done(struct image_descriptor *d);
/* "sha256:" followed by 64 lowercase hex digits. */
bool image_digest_valid(const char *digest);
/* A relative member path without "..", "." or empty components. */
bool image_member_path_valid(const char *path);
