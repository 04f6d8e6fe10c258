/* SPDX-License-Identifier: Apache-2.0 */
/* The policy backed by a verified manifest (what veil-run uses). */
#pragma once

#include "manifest/manifest.h"
#include "policy.h"

/* Classify by veil_manifest_classify(); the manifest must outlive the policy. */
struct veil_shield_policy veil_shield_manifest_policy(const struct veil_manifest *m);
