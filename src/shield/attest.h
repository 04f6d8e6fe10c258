/* SPDX-License-Identifier: Apache-2.0 */
/* veil-run's attested start-up: attest to veil-cas before the app starts, then serve what it returned. */
#pragma once

#include <stdint.h>

#include "base/macro.h"
#include "evidence/evidence.h"
#include "manifest/manifest.h"
#include "policy.h"
#include "vault-hooks.h"

/*
 * docs/attestation-flow.md. A volume is an encrypted rule whose key is not the
 * image key; its name is the key's name. Its version is the encfile version of
 * VEIL_SHIELD_VOLUME_FILE below the rule's path, whose content is the table of
 * its files' versions (volume-table.h); rewritten (version + 1) after every
 * store or removal of a file of the volume and reported to the service.
 */
#define VEIL_SHIELD_VOLUME_FILE ".veil-volume"

struct veil_shield_attest;

/*
 * Attest as the manifest's service with this measurement, receive the
 * configuration, check that it provides every key the manifest names and that
 * every volume's version file is authentic. A refusal is -EPERM with the
 * service's reason as the veil_err() detail.
 */
int veil_shield_attest_start(const struct veil_manifest *m, const char *root, const uint8_t measurement[32],
                             const struct veil_attest_options *tee, struct veil_shield_attest **ret) _warn_unused_;
void veil_shield_attest_free(struct veil_shield_attest *a);
VEIL_DEFINE_CLEANUP(struct veil_shield_attest *, veil_shield_attest_free, veil_shield_attest_freep)

/* The key for a manifest key name ("image" or a volume's name), or NULL (for veil_shield_options.key). */
const uint8_t *veil_shield_attest_key(void *attest, const char *name);

/* Secret files first (memory files only), their parent directories, then `inner`. Both must outlive it. */
struct veil_shield_policy veil_shield_attest_policy(struct veil_shield_attest *a, const struct veil_shield_policy *inner);

/*
 * The application's environment and arguments: the manifest's, then the service's
 * (a service variable replaces a manifest or host variable of the same name;
 * service arguments are appended). NULL-terminated arrays of borrowed strings.
 */
int veil_shield_attest_env(struct veil_shield_attest *a, const char *const *base, const char ***ret) _warn_unused_;
int veil_shield_attest_argv(struct veil_shield_attest *a, const struct veil_manifest_config *cfg,
                            const char ***ret) _warn_unused_;

/* The strings of those arrays are plain copies (a forked child cannot see secbufs): wipe them once the app started. */
void veil_shield_attest_wipe_plain(struct veil_shield_attest *a);

/*
 * For veil_shield_options.vault_hooks: every store of a volume's file records its encfile
 * version in the volume's table (the version file), bumps the volume's version and reports
 * it; every load must find the version it recorded.
 */
const struct veil_shield_vault_hooks *veil_shield_attest_vault_hooks(struct veil_shield_attest *a);
