#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds imgbuild into build/ (or $1), warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -G Ninja -DIMGBUILD_WERROR=ON "$@" >/dev/null
ninja -C "$build_dir"
