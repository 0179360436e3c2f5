// SPDX-License-Identifier: Apache-2.0
// Reading manifests and indexes as the registry serves them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/image/image.hpp"

namespace imgbuild::registry {

bool is_index_type(std::string_view media_type);
bool is_manifest_type(std::string_view media_type);

// Returns the media type from a Content-Type header (parameters dropped), or
// the document's own "mediaType" when the header is missing or generic.
std::string manifest_media_type(std::string_view content_type, const nlohmann::json& document);

// Parses a descriptor object; throws Error naming `where` when a required
// field is missing or invalid.
image::Descriptor parse_descriptor(const nlohmann::json& object, std::string_view where);

// Returns "linux/arm64/v8" style text.
std::string platform_text(const image::Platform& platform);

// Picks the manifest for `platform` from an index's descriptors; throws Error
// listing the platforms the index offers when none matches.
image::Descriptor select_platform(const std::vector<image::Descriptor>& manifests, const image::Platform& platform,
                                  std::string_view image_name);

}  // namespace imgbuild::registry
