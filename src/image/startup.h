/* SPDX-License-Identifier: Apache-2.0 */
/* The start-up configuration of a wrapped image: image config defaults, owner overrides, users resolved. */
#pragma once

#include "flatten.h"
#include "image.h"

/* Fill the builder's argv, env, host env, cwd, user, attestation and product fields. */
int image_startup_configure(const struct veil_wrap_options *o, struct image_source *s, int root_fd, struct image_tree *t,
                            struct veil_manifest_builder *b) _warn_unused_;
