// SPDX-License-Identifier: Apache-2.0
// Image manifests in OCI form (the default) or Docker v2 schema 2 form, and
// the descriptors they are made of.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/image/image.hpp"

namespace imgbuild::image {

enum class Format { oci, docker };

// Parses "oci" or "docker"; throws naming the value otherwise.
Format parse_format(std::string_view text);
std::string_view format_name(Format format);

enum class Compression { none, gzip, zstd };

// Returns the compression a layer media type implies (OCI or Docker types).
// Throws naming the media type when it is not a layer type we can ship.
Compression layer_compression(std::string_view media_type);
std::string_view compression_name(Compression compression);

// Returns the layer media type for `compression` in `format`. zstd has no
// Docker media type, so (zstd, docker) throws naming both settings.
std::string layer_media_type(Compression compression, Format format);

// Annotation keys predefined by the OCI image spec (annotations.md).
namespace annotation {
inline constexpr const char* created = "org.opencontainers.image.created";
inline constexpr const char* source = "org.opencontainers.image.source";
inline constexpr const char* revision = "org.opencontainers.image.revision";
inline constexpr const char* base_name = "org.opencontainers.image.base.name";
inline constexpr const char* base_digest = "org.opencontainers.image.base.digest";
inline constexpr const char* ref_name = "org.opencontainers.image.ref.name";
}  // namespace annotation

// Optional facts recorded as manifest annotations. `created` is always
// taken from the config.
struct ImageAnnotations {
  std::string base_name;    // e.g. "docker.io/library/debian:bookworm"
  std::string base_digest;  // manifest digest of the base image
  std::string source;       // e.g. a repository URL
  std::string revision;     // e.g. a git commit id
};

// Sets the org.opencontainers.image.* annotations of `image` from its config
// and `values`; empty values are left out.
void set_image_annotations(Image& image, const ImageAnnotations& values);

// The bytes and descriptors of an image ready to write or push: push the
// layers, then the config, then the manifest.
struct SerializedManifest {
  Format format = Format::oci;
  std::string config_bytes;
  Descriptor config;  // media type, digest and size of config_bytes
  std::string manifest_bytes;
  Descriptor manifest;  // media type, digest and size of manifest_bytes
  std::vector<Descriptor> layers;  // in manifest order; blobs as stored
};

// Serializes the config and manifest of `image` canonically, so the same
// image gives byte-identical output. Layer blobs keep their digest and size
// and only their media type is mapped to `format`. In OCI form the config
// drops `config.Healthcheck`, which only Docker reads, with a warning; the
// Docker form carries no annotations.
SerializedManifest serialize(const Image& image, Format format);

// Converts a descriptor to and from its JSON form.
nlohmann::json descriptor_json(const Descriptor& descriptor);
Descriptor parse_descriptor(const nlohmann::json& json);

// Returns true when `media_type` names an image index or a Docker manifest list.
bool is_index_media_type(std::string_view media_type);
// Returns true when `media_type` names an OCI or Docker image manifest.
bool is_manifest_media_type(std::string_view media_type);

}  // namespace imgbuild::image
