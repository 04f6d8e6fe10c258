/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the image JSON parsers: config, OCI index, OCI/docker manifests, docker-archive manifest.json. */
#include "image/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct image_config *c;
    if (image_config_parse(data, size, &c) == 0) image_config_free(c);
    struct image_descriptor d;
    if (image_index_parse(data, size, &d) == 0) image_descriptor_done(&d);
    struct image_manifest m;
    if (image_manifest_parse(data, size, &m) == 0) image_manifest_done(&m);
    struct image_docker_manifest dm;
    if (image_docker_manifest_parse(data, size, &dm) == 0) image_docker_manifest_done(&dm);
    return 0;
}
