#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One workload's smoke test (examples/smoke) in the integration suite; its result lines go to
# $VEIL_BUILD_ROOT/tests/apps/results/WORKLOAD for scripts/compat-matrix.
set -uo pipefail
: "${VEIL_BUILD_ROOT:?}" "${VEIL_SOURCE_ROOT:?}"
results=$VEIL_BUILD_ROOT/tests/apps/results
mkdir -p "$results"
rm -f "$results/$1"
exec "$VEIL_SOURCE_ROOT/examples/smoke" --results "$results/$1" "$1"
