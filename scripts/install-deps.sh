#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything imgbuild needs to build and test on Debian 12, from
# Debian's packages. Safe to run again: apt skips what is already present.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config git
  libarchive-dev libssl-dev libdeflate-dev libzstd-dev libgit2-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libcurl4-openssl-dev
  catch2 clang libclang-rt-14-dev
)

tool_packages=(
  runc crun mmdebstrap skopeo umoci oci-image-tool podman buildah
  docker-registry docker.io apache2-utils openssl uidmap
  fuse-overlayfs netavark aardvark-dns slirp4netns
  pigz zstd gzip tar python3 libarchive-tools attr libcap2-bin busybox-static apt-utils
  ca-certificates curl time systemd bc
)

missing=()
for package in "${build_packages[@]}" "${tool_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The Debian package enables and starts the registry as a system service on
# machines that run systemd. Tests start their own registries on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry || true
fi
