#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times the build of recipes/backend.toml with imgbuild against the same
# build described by bench/backend/Containerfile, run by `buildah bud` and by
# the Docker engine's classic builder (DOCKER_BUILDKIT=0), on the same Debian
# bases exported from imgbuild's store. Figures: a cold build with no step
# cache (bases already local), a fully cached rebuild, a rebuild after one
# application file changes, the runtime image's compressed size and whether
# repeated builds of the same files give the same digest. Prints every
# figure side by side with the ratio imgbuild/peer and PASS or FAIL per
# target, and exits 1 when a target fails.
#
# Usage: bench/run-build-bench.sh [--short]
#   --short   one repetition and no Docker column, for CI
# Environment:
#   IMGBUILD   imgbuild binary (default: build/imgbuild in the tree, as scripts/build.sh makes it)
#   BENCH_DIR  work directory, kept between runs so the Debian bases stay
#              cached (default: /var/tmp/imgbuild-build-bench)
#   REPEAT     repetitions of the cold, cached and one-file-change builds
#              (default: 3, or 1 with --short); each figure is the median
#
# buildah and dockerd get private configuration and storage under
# $BENCH_DIR; nothing reads or writes /etc/containers, /var/lib/containers
# or /var/lib/docker. All three tools run build steps with the host network
# (imgbuild's default), so no tool pays for network namespace set-up.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/containers-conf.sh"
imgbuild="${IMGBUILD:-$root/build/imgbuild}"
bench_dir="${BENCH_DIR:-/var/tmp/imgbuild-build-bench}"
short=0
repeat="${REPEAT:-3}"
if [[ "${1:-}" == "--short" ]]; then
  short=1
  repeat="${REPEAT:-1}"
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--short]" >&2
  exit 2
fi

store="$bench_dir/store"
bases="$bench_dir/bases"
work="$bench_dir/work"
logs="$bench_dir/logs"
containers="$bench_dir/containers"
docker_dir="$bench_dir/docker"
mkdir -p "$store" "$bases" "$logs" "$containers"

log() { echo "== $*" >&2; }

# Seconds since the epoch with microseconds, from bash itself, so that
# timing adds no process start.
now() { echo "${EPOCHREALTIME/,/.}"; }

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Runs a command with its output in $logs/NAME.log, and stops the bench
# with the log's tail when the command fails.
run_logged() {
  local name="$1"
  shift
  if ! "$@" >"$logs/$name.log" 2>&1; then
    echo "failed: $* (log: $logs/$name.log)" >&2
    tail -n 30 "$logs/$name.log" >&2
    exit 1
  fi
}

# --- Bases: export imgbuild's Debian bases for the peers --------------------

# The base recipes hash to the same cache keys as the stages of
# recipes/backend.toml, so these builds reuse the store's bases. The first
# run in a fresh store runs mmdebstrap twice, which took 85 s and 112 s on
# the 2-core machine in docs/benchmarks.md.
export_bases() {
  local name
  for name in builder-base runtime-base; do
    log "exporting the $name from imgbuild's store"
    run_logged "export-$name" "$imgbuild" build "$root/bench/backend/$name.toml" --store "$store" \
      --progress plain \
      --output "oci-archive:$bases/$name.tar" --output "docker-archive:$bases/$name-docker.tar"
  done
}

# --- Workspace: a copy of the recipe and its context ------------------------

# Copies recipes/backend.toml and examples/backend into $work with the same
# relative layout, so the recipe's `[context] dir` ("../examples/backend")
# and its report paths point into the copy, never at the repository's files.
prepare_work() {
  rm -rf "$work"
  mkdir -p "$work/recipes" "$work/examples" "$work/out"
  cp -a "$root/examples/backend" "$work/examples/backend"

  # The docker CLI adds a Dockerfile from outside the context under a random
  # name and appends that name to the .dockerignore it sends, and `COPY .`
  # copies .dockerignore, so every build would miss the cache from that step
  # on. The Docker column therefore gets its own copy of the context with
  # the Containerfile inside, as Dockerfile, which its images carry in /src.
  cp -a "$root/examples/backend" "$work/docker-context"
  cp "$root/bench/backend/Containerfile" "$work/docker-context/Dockerfile"
  sed 's|^dir = .*|dir = "../examples/backend"|' "$root/recipes/backend.toml" >"$work/recipes/backend.toml"
  if ! grep -q '^dir = "../examples/backend"$' "$work/recipes/backend.toml"; then
    echo "recipes/backend.toml has no [context] dir line to point at the copy" >&2
    exit 1
  fi
}

context="" # set after prepare_work
change_count=0

# Appends a new comment line to app/server.py in the copied context, so
# every call gives a file content that no earlier build has seen.
change_one_file() {
  change_count=$((change_count + 1))
  local line
  line="# bench change $change_count $$ $(now)"
  echo "$line" >>"$context/app/server.py"
  echo "$line" >>"$work/docker-context/app/server.py"
}

# --- imgbuild ---------------------------------------------------------------

# Exit code 3 (a policy violation) still counts as a build: imgbuild checks
# the policy after it writes the image, and the peers check no policy.
policy_warned=0
imgbuild_build() {
  local name="$1"
  shift
  local status=0
  "$imgbuild" build "$work/recipes/backend.toml" --store "$store" --progress plain \
    --report "$work/out/report-$name.json" --metadata-file "$work/out/metadata-$name.json" \
    --output "docker-archive:$work/out/backend.tar" "$@" >"$logs/imgbuild-$name.log" 2>&1 || status=$?
  if [[ "$status" == 3 && "$policy_warned" == 0 ]]; then
    policy_warned=1
    echo "warning: imgbuild reports a policy violation (exit 3); the image is written, so the bench goes on:" >&2
    grep -A3 '^policy' "$logs/imgbuild-$name.log" >&2 || true
  elif [[ "$status" != 0 && "$status" != 3 ]]; then
    echo "failed: imgbuild build, exit $status (log: $logs/imgbuild-$name.log)" >&2
    tail -n 30 "$logs/imgbuild-$name.log" >&2
    exit 1
  fi
}

imgbuild_digest() { jq -r '."containerimage.digest"' "$work/out/metadata-$1.json"; }

imgbuild_compressed_size() { jq -r '.size.compressed' "$work/out/report-$1.json"; }

imgbuild_uncompressed_size() { jq -r '.size.uncompressed' "$work/out/report-$1.json"; }

# --- buildah ----------------------------------------------------------------

setup_buildah() {
  mkdir -p "$containers/root" "$containers/runroot"
  write_containers_conf "$containers/containers.conf"
  cat >"$containers/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$containers/root"
runroot = "$containers/runroot"
EOF
  : >"$containers/registries.conf"
  export CONTAINERS_CONF="$containers/containers.conf"
  export CONTAINERS_STORAGE_CONF="$containers/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$containers/registries.conf"

  # Load the bases into buildah's storage before any timed build, the way
  # imgbuild has them in its store.
  log "loading the bases into buildah's storage"
  run_logged buildah-pull-builder buildah pull "oci-archive:$bases/builder-base.tar"
  run_logged buildah-pull-runtime buildah pull "oci-archive:$bases/runtime-base.tar"
}

buildah_build() {
  local name="$1"
  shift
  run_logged "buildah-$name" buildah bud --layers --format docker --network host \
    --build-arg "BUILDER_BASE=oci-archive:$bases/builder-base.tar" \
    --build-arg "RUNTIME_BASE=oci-archive:$bases/runtime-base.tar" \
    --iidfile "$work/out/buildah-iid-$name" -t localhost/backend:bench \
    -f "$root/bench/backend/Containerfile" "$@" "$context"
}

buildah_image_id() { cat "$work/out/buildah-iid-$1"; }

# Pushes the image to a dir: layout, gzip-compressed the way buildah pushes
# to a registry, and sums the layer sizes in its manifest.
buildah_sizes() {
  rm -rf "$work/out/buildah-dir"
  run_logged buildah-push buildah push --format docker localhost/backend:bench "dir:$work/out/buildah-dir"
  jq '[.layers[].size] | add' "$work/out/buildah-dir/manifest.json"
}

buildah_uncompressed_size() {
  # NOTE: buildah does not store the layers' uncompressed sizes in the image;
  # this sums the tar streams of the pushed layers instead.
  local total=0 blob
  for blob in $(jq -r '.layers[].digest | sub("sha256:"; "")' "$work/out/buildah-dir/manifest.json"); do
    total=$((total + $(gzip -dc "$work/out/buildah-dir/$blob" | wc -c)))
  done
  echo "$total"
}

# --- Docker engine, classic builder -----------------------------------------

docker_pid=""

# Starts a private dockerd on its own socket, data root and exec root.
# Returns 1, with the reason in $docker_skip, when it does not come up.
start_docker() {
  docker_skip=""
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    docker_skip="dockerd or docker is not installed"
    return 1
  fi
  mkdir -p "$docker_dir"
  echo '{}' >"$docker_dir/daemon.json"
  dockerd --config-file "$docker_dir/daemon.json" --data-root "$docker_dir/data" \
    --exec-root "$docker_dir/exec" --pidfile "$docker_dir/dockerd.pid" \
    -H "unix://$docker_dir/docker.sock" --bridge=none --iptables=false --ip-masq=false \
    --exec-opt native.cgroupdriver=cgroupfs \
    --default-ulimit nofile=20000:20000 --default-ulimit nproc=32768:32768 \
    >"$logs/dockerd.log" 2>&1 &
  docker_pid=$!
  export DOCKER_HOST="unix://$docker_dir/docker.sock" DOCKER_BUILDKIT=0
  for _ in $(seq 1 60); do
    if docker version >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$docker_pid" 2>/dev/null; then
      docker_skip="dockerd exited at start: $(tail -n 1 "$logs/dockerd.log")"
      docker_pid=""
      return 1
    fi
    sleep 0.5
  done
  docker_skip="dockerd did not answer on $DOCKER_HOST within 30 s"
  stop_docker
  return 1
}

stop_docker() {
  if [[ -z "$docker_pid" ]]; then return 0; fi
  kill "$docker_pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    if ! kill -0 "$docker_pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  wait "$docker_pid" 2>/dev/null || true
  docker_pid=""
}

cleanup() {
  stop_docker
}
trap cleanup EXIT

load_docker_bases() {
  log "loading the bases into the private dockerd"
  run_logged docker-load-builder docker load -i "$bases/builder-base-docker.tar"
  run_logged docker-load-runtime docker load -i "$bases/runtime-base-docker.tar"
}

docker_build() {
  local name="$1"
  shift
  run_logged "docker-$name" docker build --network host \
    --build-arg BUILDER_BASE=localhost/backend-builder-base:latest \
    --build-arg RUNTIME_BASE=localhost/backend-runtime-base:latest \
    --iidfile "$work/out/docker-iid-$name" -t localhost/backend:bench \
    -f "$work/docker-context/Dockerfile" "$@" "$work/docker-context"
}

docker_image_id() { cat "$work/out/docker-iid-$1"; }

# --- Measurement ------------------------------------------------------------

declare -A cold_times cached_times change_times
declare -A same_digest checked_pairs

# Builds with every tool in turn, so that a slow spell on the shared
# machine falls on all columns alike. Appends the seconds to the tool's list
# in the phase's table and stores the image digest (imgbuild) or image ID
# (peers) in $last_id[tool].
declare -A last_id
build_all() {
  local phase="$1" label="$2" tool start seconds
  shift 2
  for tool in "${tools[@]}"; do
    local extra=()
    if [[ "$phase" == cold ]]; then extra=(--no-cache); fi
    start="$(now)"
    case "$tool" in
      imgbuild) imgbuild_build "$label" "${extra[@]}" ;;
      buildah) buildah_build "$label" "${extra[@]}" ;;
      docker) docker_build "$label" "${extra[@]}" ;;
    esac
    seconds="$(elapsed "$start" "$(now)")"
    case "$tool" in
      imgbuild) last_id[$tool]="$(imgbuild_digest "$label")" ;;
      buildah) last_id[$tool]="$(buildah_image_id "$label")" ;;
      docker) last_id[$tool]="$(docker_image_id "$label")" ;;
    esac
    case "$phase" in
      cold) cold_times[$tool]+="$seconds " ;;
      cached) cached_times[$tool]+="$seconds " ;;
      change) change_times[$tool]+="$seconds " ;;
    esac
    log "$tool $label: $seconds s, ${last_id[$tool]}"
  done
}

# Records, per tool, whether the current image equals the one remembered in
# $previous_id: two builds of the same files.
declare -A previous_id
compare_ids() {
  local tool
  for tool in "${tools[@]}"; do
    checked_pairs[$tool]=$((${checked_pairs[$tool]:-0} + 1))
    if [[ "${previous_id[$tool]}" == "${last_id[$tool]}" ]]; then
      same_digest[$tool]=$((${same_digest[$tool]:-0} + 1))
    fi
  done
}

remember_ids() {
  local tool
  for tool in "${tools[@]}"; do previous_id[$tool]="${last_id[$tool]}"; done
}

# Runs the measured sequence. Repetition k is a fully cached rebuild of the
# files the last build saw, one file changed and rebuilt incrementally, and
# a cold build (--no-cache) of those same files, which repetition k+1 starts
# from. So there are repeat+1 cold builds and repeat builds of each other
# kind. The digest check compares the cold build with the cached rebuild
# after it, and the incremental build with the cold build of the same files.
measure() {
  build_all cold cold-0
  local k
  for k in $(seq 1 "$repeat"); do
    remember_ids
    build_all cached "cached-$k"
    compare_ids

    change_one_file
    build_all change "change-$k"
    remember_ids
    build_all cold "cold-$k"
    compare_ids
  done
}

# --- Report -----------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# Prints PASS or FAIL for `value <= factor * limit` and counts failures.
failures=0
check() {
  local title="$1" value="$2" factor="$3" limit="$4"
  local verdict
  verdict="$(awk -v v="$value" -v f="$factor" -v l="$limit" 'BEGIN { print (v <= f * l) ? "PASS" : "FAIL" }')"
  if [[ "$verdict" == FAIL ]]; then failures=$((failures + 1)); fi
  printf '%-4s  %s (%s vs %s)\n' "$verdict" "$title" "$value" "$(awk -v f="$factor" -v l="$limit" 'BEGIN { printf "%.2f", f * l }' | sed 's/\.00$//')"
}

print_row() {
  local title="$1" mine="$2" buildah="$3" docker="${4:-}"
  local row
  row="$(printf '%-34s %10s %10s %7s' "$title" "$mine" "$buildah" "$(ratio "$mine" "$buildah")")"
  if [[ -n "$docker_column" && -n "$docker" ]]; then
    row+="$(printf ' %10s %7s' "$docker" "$(ratio "$mine" "$docker")")"
  elif [[ -n "$docker_column" ]]; then
    row+="$(printf ' %10s %7s' - -)"
  fi
  echo "$row"
}

report() {
  local tool
  declare -A cold cached change
  for tool in "${tools[@]}"; do
    # shellcheck disable=SC2086  # the lists are space-separated numbers
    cold[$tool]="$(median ${cold_times[$tool]})"
    # shellcheck disable=SC2086
    cached[$tool]="$(median ${cached_times[$tool]})"
    # shellcheck disable=SC2086
    change[$tool]="$(median ${change_times[$tool]})"
  done

  local last="cold-$repeat"
  local mine_compressed mine_uncompressed peer_compressed peer_uncompressed
  mine_compressed="$(imgbuild_compressed_size "$last")"
  mine_uncompressed="$(imgbuild_uncompressed_size "$last")"
  peer_compressed="$(buildah_sizes)"
  peer_uncompressed="$(buildah_uncompressed_size)"

  echo
  echo "seconds are medians of $repeat runs (cold: $((repeat + 1)) runs); sizes in MB (10^6 bytes)"
  local header
  header="$(printf '%-34s %10s %10s %7s' figure imgbuild buildah ratio)"
  if [[ -n "$docker_column" ]]; then header+="$(printf ' %10s %7s' docker ratio)"; fi
  echo "$header"
  print_row "cold build, no step cache (s)" "${cold[imgbuild]}" "${cold[buildah]}" "${cold[docker]:-}"
  print_row "fully cached rebuild (s)" "${cached[imgbuild]}" "${cached[buildah]}" "${cached[docker]:-}"
  print_row "one-file change (s)" "${change[imgbuild]}" "${change[buildah]}" "${change[docker]:-}"
  print_row "runtime image, compressed (MB)" "$(megabytes "$mine_compressed")" "$(megabytes "$peer_compressed")"
  print_row "runtime image, uncompressed (MB)" "$(megabytes "$mine_uncompressed")" "$(megabytes "$peer_uncompressed")"
  local digests
  digests="$(printf '%-34s' 'same digest, same files')"
  for tool in "${tools[@]}"; do
    if [[ "$tool" == docker ]]; then digests+="        "; fi
    digests+="$(printf ' %10s' "${same_digest[$tool]:-0}/${checked_pairs[$tool]}")"
  done
  echo "$digests"
  echo "(digest: imgbuild compares manifest digests, the peers image IDs, that is config digests)"
  if [[ -z "$docker_column" ]]; then echo "docker column skipped: $docker_skip"; fi

  echo
  check "fully cached rebuild <= 0.25x buildah" "${cached[imgbuild]}" 0.25 "${cached[buildah]}"
  if [[ -n "$docker_column" ]]; then
    check "fully cached rebuild <= classic builder" "${cached[imgbuild]}" 1 "${cached[docker]}"
  else
    echo "SKIP  fully cached rebuild <= classic builder ($docker_skip)"
  fi
  check "one-file change <= 0.5x buildah" "${change[imgbuild]}" 0.5 "${change[buildah]}"
  check "cold build <= 0.8x buildah" "${cold[imgbuild]}" 0.8 "${cold[buildah]}"
  check "runtime image compressed size <= buildah" "$mine_compressed" 1 "$peer_compressed"
  if [[ "${same_digest[imgbuild]:-0}" == "${checked_pairs[imgbuild]}" ]]; then
    echo "PASS  imgbuild gives the same digest for the same files (${checked_pairs[imgbuild]} pairs)"
  else
    failures=$((failures + 1))
    echo "FAIL  imgbuild gives the same digest for the same files (${same_digest[imgbuild]:-0} of ${checked_pairs[imgbuild]} pairs)"
  fi
}

# --- Main -------------------------------------------------------------------

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$imgbuild" --version 2>&1 | head -n 1); $(buildah --version); $(dockerd --version 2>/dev/null || echo 'no dockerd')"
echo "command: $0 $*; repetitions: $repeat; work directory: $bench_dir"

command -v buildah >/dev/null || { echo "buildah is not installed" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 1; }

export_bases
prepare_work
context="$work/examples/backend"
setup_buildah

tools=(imgbuild buildah)
docker_column=""
docker_skip="skipped with --short"
if [[ "$short" == 0 ]]; then
  if start_docker; then
    load_docker_bases
    tools+=(docker)
    docker_column=1
  fi
fi

measure
report
stop_docker

if [[ "$failures" -gt 0 ]]; then
  echo "$failures target(s) failed"
  exit 1
fi
