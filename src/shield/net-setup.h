/* SPDX-License-Identifier: Apache-2.0 */
/* veil-run's network set-up: the image's measured network rules and the TLS identity that serves them. */
#pragma once

#include "base/macro.h"
#include "manifest/manifest.h"
#include "policy.h"

struct veil_nettls;

/* Where an image keeps its network rules (a trusted file of the manifest; docs/nettls.md). */
#define VEIL_SHIELD_NETTLS_RULES "/etc/veil/nettls.conf"
/* Where the attestation service delivers the TLS identity, as secret files: cert.pem (chain), key.pem, ca.pem. */
#define VEIL_SHIELD_NETTLS_IDENTITY_DIR "/etc/veil/tls"

/*
 * When the manifest lists VEIL_SHIELD_NETTLS_RULES: check the file against its
 * digest, parse it, load the TLS identity and start the proxy; *ret = NULL
 * when the image has no network rules. The identity: the secret files
 * VEIL_SHIELD_NETTLS_IDENTITY_DIR/{cert,key,ca}.pem of `policy` (what the
 * attestation service delivered), or, in development, DIR/{cert,key,ca}.pem.
 * Refuses (-EPERM) rules without an identity.
 */
int veil_shield_net_setup(const struct veil_manifest *m, const char *root, const struct veil_shield_policy *policy,
                          const char *dev_tls_dir, struct veil_nettls **ret) _warn_unused_;
