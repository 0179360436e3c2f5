#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a Debian 12 machine and runs the whole test suite:
#   1. every Catch2 test through ctest: unit tests, and end-to-end tests that
#      run the imgbuild binary against runc, overlayfs, mmdebstrap (the
#      Debian archive must be reachable), skopeo, umoci, podman and
#      registries they start on 127.0.0.1;
#   2. the unit tests of the modules with no external tools again under
#      AddressSanitizer and UBSan;
#   3. the layer unpacker's libFuzzer target for a bounded time;
#   4. the benchmarks in short mode.
# Run as root; safe to run again (build trees and test stores are reused).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh build

echo "== tests (unit and end-to-end)"
ctest --test-dir build --output-on-failure -j2 --timeout 1800

echo "== unit tests under AddressSanitizer and UBSan"
sanitized=(test_util test_recipe test_store test_layer test_context test_report test_build)
cmake -S . -B build-asan -G Ninja -DIMGBUILD_WERROR=ON -DIMGBUILD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build-asan "${sanitized[@]}"
regex=$(printf '%s|' "${sanitized[@]#test_}")
ctest --test-dir build-asan --output-on-failure -j2 -L unit -LE slow -R "^(${regex%|}): "

echo "== fuzzing the layer unpacker"
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

# Short mode proves the benchmarks run; their speed targets are judged on
# the full runs recorded in docs/benchmarks.md, on an otherwise idle machine.
echo "== benchmarks (short mode)"
BUILD_DIR=$PWD/build bench/run-layer-bench.sh --short || echo "layer benchmark: a target was missed (see above)"
BUILD_DIR=$PWD/build bench/run-context-bench.sh --short || echo "context benchmark: a target was missed (see above)"
