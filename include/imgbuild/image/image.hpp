// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/util/digest.hpp"

namespace imgbuild::image {

namespace media_type {
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_manifest_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* docker_layer_tar = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* oci_layout_header = "application/vnd.oci.layout.header.v1+json";
}  // namespace media_type

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v8" for arm64; empty when none
};

// A content descriptor as in OCI manifests and indexes.
struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

// A layer of an image whose blob is in the store.
struct Layer {
  Descriptor blob;                    // compressed blob as stored and shipped
  Digest diff_id;                     // sha256 of the uncompressed tar
  std::uint64_t uncompressed_size = 0;
};

// An image held in the store: its config document and its layers, base
// first. Builds start from a base Image and append layers and history.
struct Image {
  nlohmann::json config;  // OCI/Docker image config (architecture, os, config, rootfs, history)
  std::vector<Layer> layers;
  std::map<std::string, std::string> annotations;  // manifest annotations
  std::optional<Digest> manifest_digest;           // when it came from a registry or file
  std::string name;                                // reference it was resolved from, for reports
};

}  // namespace imgbuild::image
