#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Monthly rebuild: builds a recipe with no step cache and fresh bases so the
# image picks up Debian's security updates, keeps the report of every run,
# and pushes the image when the build and its policy pass.
#
# Usage: monthly-rebuild.sh RECIPE PUSH_REF [REPORT_DIR]
#   RECIPE      the recipe to build, e.g. /srv/backend/recipes/backend.toml
#   PUSH_REF    where to push on success, e.g. registry.example.com/team/backend:monthly
#               ("none" builds and reports without pushing)
#   REPORT_DIR  where reports are kept (default /var/lib/imgbuild/reports)
# Environment: IMGBUILD (binary, default: imgbuild in PATH), IMGBUILD_STORE.
# Exit status: imgbuild's own (1 build failure, 2 recipe error, 3 policy
# violation); the reason is printed on the last line.
set -uo pipefail

if (($# < 2)); then
  echo "usage: $0 RECIPE PUSH_REF [REPORT_DIR]" >&2
  exit 2
fi
recipe=$1
push_ref=$2
report_dir=${3:-/var/lib/imgbuild/reports}
imgbuild=${IMGBUILD:-imgbuild}
stamp=$(date -u +%Y%m%dT%H%M%SZ)

mkdir -p "$report_dir"
report="$report_dir/report-$stamp.json"
log="$report_dir/build-$stamp.log"

args=(build "$recipe" --no-cache --pull --progress plain --report "$report")
if [[ -n "${IMGBUILD_STORE:-}" ]]; then
  args+=(--store "$IMGBUILD_STORE")
fi
if [[ "$push_ref" != none ]]; then
  args+=(--output "docker://$push_ref")
fi

"$imgbuild" "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
ln -sfn "$(basename "$report")" "$report_dir/latest.json"

case $status in
  0) echo "monthly-rebuild: success; report $report" ;;
  2) echo "monthly-rebuild: failed: the recipe or the command line is invalid (exit 2); see $log" >&2 ;;
  3) echo "monthly-rebuild: failed: the image violates the recipe's policy (exit 3), nothing was pushed; see $report" >&2 ;;
  *) echo "monthly-rebuild: failed: the build failed (exit $status); see $log" >&2 ;;
esac
exit "$status"
