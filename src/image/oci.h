/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON documents of a wrapped image: its config, and the layer lists of OCI and docker manifests. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"
#include "source.h"

#define IMAGE_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMAGE_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"

/*
 * The output config: the input's (or a new one for a root directory) with veil-run as
 * the entrypoint, the labels, and the layers: the input's lowest `kept` layers (their
 * diff ids and history), then layer_diff when not NULL (one layer flattened from all
 * the input's layers above them), then the veil layer. *ret is malloc'd compact JSON
 * with sorted keys.
 */
int image_oci_config(const struct image_source *s, size_t kept, const char *layer_diff, const char *veil_diff,
                     const char *measurement, const char *signer, char **ret, size_t *ret_size) _warn_unused_;
/* Compact, key-sorted text of j (which is released); NULL on failure. */
char *image_json_dump(json_t *j);
/* The OCI media type to declare for a kept input layer. */
const char *image_oci_layer_media_type(const struct image_layer_ref *l);
/* Append a layer to an OCI "layers" array and a docker "Layers" array. */
int image_oci_add_layer(json_t *oci, json_t *docker, const char *media_type, const char *digest, uint64_t size) _warn_unused_;
/* "sha256:<hex>" of a digest, or of data. */
void image_digest_string(const uint8_t d[VEIL_SHA256_SIZE], char out[72]);
int image_sha256_string(const void *data, size_t size, char out[72]) _warn_unused_;
