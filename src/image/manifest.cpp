// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/image/manifest.hpp"

#include "imgbuild/image/config.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

using nlohmann::json;

Descriptor bytes_descriptor(std::string media_type, std::string_view bytes) {
  Descriptor descriptor;
  descriptor.media_type = std::move(media_type);
  descriptor.digest = sha256_of(bytes);
  descriptor.size = static_cast<std::int64_t>(bytes.size());
  return descriptor;
}

// Returns the config as shipped in `format`. Only Docker defines a
// healthcheck, so OCI consumers would ignore it silently: it is dropped
// here, and the build warns once per output that loses it.
json config_for_format(const json& config, Format format) {
  if (format == Format::docker || !get_healthcheck(config)) return config;
  json copy = config;
  copy["config"].erase("Healthcheck");
  return copy;
}

}  // namespace

Format parse_format(std::string_view text) {
  if (text == "oci") return Format::oci;
  if (text == "docker") return Format::docker;
  fail("invalid image format ", quote(text), ": use 'oci' or 'docker'");
}

std::string_view format_name(Format format) { return format == Format::oci ? "oci" : "docker"; }

Compression layer_compression(std::string_view media_type) {
  if (media_type == media_type::oci_layer_tar || media_type == media_type::docker_layer_tar)
    return Compression::none;
  if (media_type == media_type::oci_layer_gzip || media_type == media_type::docker_layer_gzip)
    return Compression::gzip;
  if (media_type == media_type::oci_layer_zstd) return Compression::zstd;
  fail("unsupported layer media type ", quote(media_type),
       ": expected an OCI or Docker tar layer (uncompressed, gzip or zstd)");
}

std::string_view compression_name(Compression compression) {
  switch (compression) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "none";
}

std::string layer_media_type(Compression compression, Format format) {
  if (format == Format::oci) {
    switch (compression) {
      case Compression::none: return media_type::oci_layer_tar;
      case Compression::gzip: return media_type::oci_layer_gzip;
      case Compression::zstd: return media_type::oci_layer_zstd;
    }
  }
  switch (compression) {
    case Compression::none: return media_type::docker_layer_tar;
    case Compression::gzip: return media_type::docker_layer_gzip;
    case Compression::zstd: break;
  }
  fail("layer compression 'zstd' cannot be written with image format 'docker': Docker manifests have no zstd "
       "layer type; use format 'oci' or compression 'gzip'");
}

void set_image_annotations(Image& image, const ImageAnnotations& values) {
  auto set = [&](const char* key, const std::string& value) {
    if (value.empty())
      image.annotations.erase(key);
    else
      image.annotations[key] = value;
  };
  set(annotation::created, image.config.value("created", std::string()));
  set(annotation::base_name, values.base_name);
  set(annotation::base_digest, values.base_digest);
  set(annotation::source, values.source);
  set(annotation::revision, values.revision);
}

SerializedManifest serialize(const Image& image, Format format) {
  check_layer_history(image);
  SerializedManifest result;
  result.format = format;

  result.config_bytes = canonical_json(config_for_format(image.config, format));
  result.config = bytes_descriptor(format == Format::oci ? media_type::oci_config : media_type::docker_config,
                                   result.config_bytes);

  // Layer blobs are shipped exactly as stored: only the media type changes
  // between the OCI and Docker names of the same compression.
  for (const Layer& layer : image.layers) {
    Descriptor blob = layer.blob;
    blob.media_type = layer_media_type(layer_compression(blob.media_type), format);
    blob.platform.reset();
    result.layers.push_back(std::move(blob));
  }

  json manifest = {{"schemaVersion", 2}, {"config", descriptor_json(result.config)}, {"layers", json::array()}};
  for (const Descriptor& layer : result.layers) manifest["layers"].push_back(descriptor_json(layer));
  std::string manifest_type = format == Format::oci ? media_type::oci_manifest : media_type::docker_manifest;
  manifest["mediaType"] = manifest_type;
  if (format == Format::oci && !image.annotations.empty()) manifest["annotations"] = image.annotations;

  result.manifest_bytes = canonical_json(manifest);
  result.manifest = bytes_descriptor(manifest_type, result.manifest_bytes);
  return result;
}

json descriptor_json(const Descriptor& descriptor) {
  json result = {{"mediaType", descriptor.media_type}, {"digest", descriptor.digest.str()}, {"size", descriptor.size}};
  if (!descriptor.annotations.empty()) result["annotations"] = descriptor.annotations;
  if (descriptor.platform) {
    json platform = {{"os", descriptor.platform->os}, {"architecture", descriptor.platform->architecture}};
    if (!descriptor.platform->variant.empty()) platform["variant"] = descriptor.platform->variant;
    result["platform"] = std::move(platform);
  }
  return result;
}

Descriptor parse_descriptor(const json& value) {
  if (!value.is_object()) fail("descriptor is not a JSON object: ", value.dump());
  if (!value.contains("digest") || !value["digest"].is_string())
    fail("descriptor has no digest: ", value.dump());
  if (!value.contains("size") || !value["size"].is_number_integer() || value["size"].get<std::int64_t>() < 0)
    fail("descriptor has no valid size: ", value.dump());

  Descriptor descriptor;
  descriptor.media_type = value.value("mediaType", std::string());
  descriptor.digest = Digest::parse(value["digest"].get<std::string>());
  descriptor.size = value["size"].get<std::int64_t>();
  if (value.contains("annotations") && value["annotations"].is_object()) {
    for (const auto& [key, text] : value["annotations"].items())
      if (text.is_string()) descriptor.annotations[key] = text.get<std::string>();
  }
  if (value.contains("platform") && value["platform"].is_object()) {
    const json& platform = value["platform"];
    descriptor.platform = Platform{platform.value("os", std::string()), platform.value("architecture", std::string()),
                                   platform.value("variant", std::string())};
  }
  return descriptor;
}

bool is_index_media_type(std::string_view media_type) {
  return media_type == media_type::oci_index || media_type == media_type::docker_manifest_list;
}

bool is_manifest_media_type(std::string_view media_type) {
  return media_type == media_type::oci_manifest || media_type == media_type::docker_manifest;
}

}  // namespace imgbuild::image
