// SPDX-License-Identifier: Apache-2.0
#include "manifest.hpp"

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {

namespace media = image::media_type;

bool is_index_type(std::string_view media_type) {
  return media_type == media::oci_index || media_type == media::docker_manifest_list;
}

bool is_manifest_type(std::string_view media_type) {
  return media_type == media::oci_manifest || media_type == media::docker_manifest;
}

std::string manifest_media_type(std::string_view content_type, const nlohmann::json& document) {
  std::string_view header = trim(content_type.substr(0, content_type.find(';')));
  bool generic = header.empty() || header == "application/json" || header == "application/octet-stream" ||
                 header == "text/plain";
  if (!generic) return std::string(header);
  if (document.is_object() && document.contains("mediaType") && document["mediaType"].is_string())
    return document["mediaType"].get<std::string>();
  return std::string(header);
}

image::Descriptor parse_descriptor(const nlohmann::json& object, std::string_view where) {
  if (!object.is_object()) fail(where, ": descriptor is not a JSON object");
  image::Descriptor descriptor;
  if (!object.contains("mediaType") || !object["mediaType"].is_string())
    fail(where, ": descriptor has no 'mediaType'");
  descriptor.media_type = object["mediaType"].get<std::string>();
  if (!object.contains("digest") || !object["digest"].is_string()) fail(where, ": descriptor has no 'digest'");
  descriptor.digest = with_context(where, [&] { return Digest::parse(object["digest"].get<std::string>()); });
  if (!object.contains("size") || !object["size"].is_number_integer() || object["size"].get<std::int64_t>() < 0)
    fail(where, ": descriptor has no valid 'size'");
  descriptor.size = object["size"].get<std::int64_t>();

  if (object.contains("annotations") && object["annotations"].is_object())
    for (const auto& [key, value] : object["annotations"].items())
      if (value.is_string()) descriptor.annotations[key] = value.get<std::string>();
  if (object.contains("platform") && object["platform"].is_object()) {
    const auto& platform = object["platform"];
    descriptor.platform = image::Platform{platform.value("os", ""), platform.value("architecture", ""),
                                          platform.value("variant", "")};
  }
  return descriptor;
}

std::string platform_text(const image::Platform& platform) {
  std::string text = platform.os + "/" + platform.architecture;
  if (!platform.variant.empty()) text += "/" + platform.variant;
  return text;
}

namespace {

// arm64 images often omit the only variant there is, "v8".
std::string normalized_variant(const image::Platform& platform) {
  if (platform.architecture == "arm64" && platform.variant.empty()) return "v8";
  return platform.variant;
}

bool matches(const image::Platform& offered, const image::Platform& wanted) {
  if (offered.os != wanted.os || offered.architecture != wanted.architecture) return false;
  return wanted.variant.empty() || normalized_variant(offered) == normalized_variant(wanted);
}

}  // namespace

image::Descriptor select_platform(const std::vector<image::Descriptor>& manifests, const image::Platform& platform,
                                  std::string_view image_name) {
  std::vector<std::string> offered;
  for (const auto& descriptor : manifests) {
    if (!descriptor.platform || !is_manifest_type(descriptor.media_type)) continue;
    if (matches(*descriptor.platform, platform)) return descriptor;
    offered.push_back(platform_text(*descriptor.platform));
  }
  fail("image ", quote(image_name), " has no manifest for platform ", quote(platform_text(platform)),
       "; it offers: ", offered.empty() ? std::string("none") : join(offered, ", "));
}

}  // namespace imgbuild::registry
