#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and runs the build-context hashing benchmark. The full run hashes a
# generated 20,000-file, 300 MB context; --short uses 2,000 files and 30 MB.
# The generated context is kept in $BENCH_DIR (default /tmp/imgbuild-context-bench)
# so reruns skip the generation.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-context}"
bench_dir="${BENCH_DIR:-/tmp/imgbuild-context-bench}"
files=20000
megabytes=300
if [[ "${1:-}" == "--short" ]]; then
  files=2000
  megabytes=30
  bench_dir="$bench_dir-short"
fi

cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" context_bench >/dev/null
mkdir -p "$bench_dir"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(df -h --output=source,fstype "$bench_dir" | tail -1 | tr -s ' ')"
exec "$build/bench/context_bench" "$bench_dir" --files "$files" --megabytes "$megabytes"
