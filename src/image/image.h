/* SPDX-License-Identifier: Apache-2.0 */
/* Converting a container image into a veil image (`veil wrap`), and reading one back (`veil inspect`). */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"
#include "manifest/manifest.h"

#define VEIL_IMAGE_KEY_SIZE 32
#define VEIL_IMAGE_VOLUME_NAME_MAX 64
#define VEIL_IMAGE_LABEL_MEASUREMENT "org.veil.measurement"
#define VEIL_IMAGE_LABEL_SIGNER "org.veil.signer"
#define VEIL_IMAGE_RUNTIME_PATH "/veil/veil-run"

enum veil_wrap_format {
    VEIL_WRAP_OCI_ARCHIVE = 1,
    VEIL_WRAP_DOCKER_ARCHIVE,
    VEIL_WRAP_DIR, /* the wrapped root file system as a directory */
};

struct veil_wrap_options {
    const char *input;  /* OCI layout dir, OCI archive, docker-archive or root file system dir */
    const char *output; /* must not exist yet for VEIL_WRAP_DIR */
    enum veil_wrap_format format;
    const char *tag;    /* image name recorded in the archive, e.g. "localhost/app:veil" */
    EVP_PKEY *signer;
    const char *runtime; /* path of the veil-run executable to add (must be static) */

    /* start-up configuration; NULL/0 keeps what the image config says */
    const char *entrypoint;
    const char *const *args; /* with args_set: replaces the image's Cmd (or follows --entrypoint) */
    size_t arg_count;
    bool args_set;
    const char *const *env;  /* NAME=value, added to / overriding the image's Env */
    size_t env_count;
    const char *const *host_env; /* names of host variables let through */
    size_t host_env_count;
    const char *workdir;
    const char *user;        /* "name", "uid", "name:group", "uid:gid" */
    const char *attest_address, *attest_policy;
    uint32_t product_id, security_version;

    /* paths */
    const char *const *encrypt;
    size_t encrypt_count;
    const char *const *passthrough;
    size_t passthrough_count;
    const char *const *volumes;  /* "PATH=NAME": encrypted under the volume key NAME (empty in the image) */
    size_t volume_count;

    /* the image key: used when encrypt_count > 0, written to key_out (0600) just before the output appears */
    const uint8_t *image_key;
    const char *key_out;     /* NULL: do not write the key (it already exists) */

    bool progress;
};

struct veil_wrap_result {
    uint8_t measurement[VEIL_SHA256_SIZE];
    uint8_t signer_id[VEIL_SHA256_SIZE];
    size_t trusted_count, encrypted_count, directory_count, symlink_count, unlisted_count;
    uint64_t content_size; /* bytes of regular-file content of the image */
};

/* Wrap. On failure nothing is left at o->output or o->key_out. */
int veil_image_wrap(const struct veil_wrap_options *o, struct veil_wrap_result *ret) _warn_unused_;

/* Where `veil wrap` finds veil-run without --runtime (CONTRACTS.md); *ret is malloc'd. */
int veil_image_find_runtime(char **ret) _warn_unused_;

struct veil_image_info {
    struct veil_manifest *manifest;
    uint8_t runtime_digest[VEIL_SHA256_SIZE];
    uint8_t measurement[VEIL_SHA256_SIZE];
    uint8_t signer_id[VEIL_SHA256_SIZE];
    char *label_measurement; /* from the image config, NULL when absent (directories) */
    char *label_signer;
    char *kind;              /* input kind name */
};

/* Read /veil/manifest and /veil/veil-run of an image (any input kind, or a wrapped directory),
 * verify the manifest and compute measurement and signer id. */
int veil_image_inspect(const char *path, struct veil_image_info *ret) _warn_unused_;
void veil_image_info_done(struct veil_image_info *info);
