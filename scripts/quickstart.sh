#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a Debian 12 machine, builds imgbuild, builds recipes/backend.toml
# (printing the report), then proves the image works: it loads the
# docker-archive into a private podman, starts the service, queries
# /api/v1/health, runs the healthcheck and stops the container.
# Safe to run again: a second run finds every step in the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/containers-conf.sh

scripts/install-deps.sh
scripts/build.sh build

store=${IMGBUILD_STORE:-$PWD/out/store}
build/imgbuild build recipes/backend.toml --store "$store" --progress plain \
  --metadata-file out/metadata.json

echo "== checking out/backend.tar with podman"
sandbox=$(mktemp -d /tmp/imgbuild-quickstart-XXXXXX)
container=""
cleanup() {
  if [[ -n "$container" ]]; then podman rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$sandbox"
}
trap cleanup EXIT

# podman gets its own configuration and storage, so the host's stay untouched.
write_containers_conf "$sandbox/containers.conf"
cat >"$sandbox/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$sandbox/root"
runroot = "$sandbox/run"
CONF
export CONTAINERS_CONF="$sandbox/containers.conf" CONTAINERS_STORAGE_CONF="$sandbox/storage.conf"

podman load -q -i out/backend.tar
# Without systemd, podman reports that it cannot schedule healthchecks;
# they are run on demand below, so those lines are filtered out.
container=$(podman run -d --network host localhost/backend:latest 2> >(grep -v "systemd connection" >&2))
for _ in $(seq 1 50); do
  if curl -fsS http://127.0.0.1:8000/api/v1/health 2>/dev/null; then break; fi
  sleep 0.2
done
echo
podman healthcheck run "$container" 2>/dev/null && echo "healthcheck: healthy"
start=$(date +%s.%N)
podman stop "$container" >/dev/null 2>&1
echo "podman stop took $(echo "$(date +%s.%N) - $start" | bc) s"
