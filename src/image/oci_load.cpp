// SPDX-License-Identifier: Apache-2.0
// Reading OCI layouts and OCI archives into the store.
#include <vector>

#include "image/blob_io.hpp"
#include "image/file_set.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

using nlohmann::json;
using detail::FileSet;

// Nested indexes deeper than this are rejected rather than followed.
constexpr int max_index_depth = 4;

json parse_document(const std::string& bytes, const Descriptor& descriptor, const FileSet& files) {
  try {
    json document = json::parse(bytes);
    if (!document.is_object()) fail("the top level is not an object");
    return document;
  } catch (const json::exception& error) {
    fail("blob ", descriptor.digest.str(), " in ", quote(files.origin().string()), " is not valid JSON: ", error.what());
  }
}

json read_blob_document(store::Store& store, const FileSet& files, const Descriptor& descriptor) {
  fs::path path = files.locate(cat("blobs/sha256/", descriptor.digest.hex));
  std::string bytes = detail::import_document(store, path, descriptor.digest, descriptor.size);
  return parse_document(bytes, descriptor, files);
}

std::vector<Descriptor> index_manifests(const json& index, const FileSet& files) {
  if (!index.contains("manifests") || !index["manifests"].is_array())
    fail("index in ", quote(files.origin().string()), " has no manifests array");
  std::vector<Descriptor> result;
  for (const auto& entry : index["manifests"]) result.push_back(parse_descriptor(entry));
  return result;
}

std::string describe_refs(const std::vector<Descriptor>& manifests) {
  std::vector<std::string> refs;
  for (const auto& descriptor : manifests) {
    auto ref = descriptor.annotations.find(annotation::ref_name);
    refs.push_back(ref != descriptor.annotations.end() ? quote(ref->second) : descriptor.digest.str());
  }
  return refs.empty() ? std::string("none") : join(refs, ", ");
}

// Picks the index.json entry for `reference`: an exact ref.name, a digest,
// the only entry when `reference` is empty, or, when `match_tag` is set,
// the only ref.name whose tag part equals `reference`.
Descriptor select_entry(const std::vector<Descriptor>& manifests, const std::string& reference, bool match_tag,
                        const FileSet& files) {
  if (reference.empty()) {
    if (manifests.size() == 1) return manifests.front();
    fail(quote(files.origin().string()), " holds ", manifests.size(),
         " images; name one of them: ", describe_refs(manifests));
  }

  std::vector<const Descriptor*> by_tag;
  for (const auto& descriptor : manifests) {
    if (Digest::valid(reference) && descriptor.digest.str() == reference) return descriptor;
    auto ref = descriptor.annotations.find(annotation::ref_name);
    if (ref == descriptor.annotations.end()) continue;
    if (ref->second == reference) return descriptor;
    if (match_tag && ends_with(ref->second, cat(":", reference))) by_tag.push_back(&descriptor);
  }
  if (by_tag.size() == 1) return *by_tag.front();
  fail("no image named ", quote(reference), " in ", quote(files.origin().string()),
       "; it holds: ", describe_refs(manifests));
}

bool platform_matches(const Platform& have, const Platform& want) {
  if (have.os != want.os || have.architecture != want.architecture) return false;
  if (want.variant.empty() || have.variant == want.variant) return true;
  // arm64 images often omit the only variant there is.
  return want.architecture == "arm64" && have.variant.empty() && want.variant == "v8";
}

std::string platform_text(const Platform& platform) {
  return cat(platform.os, "/", platform.architecture, platform.variant.empty() ? "" : "/", platform.variant);
}

Descriptor select_platform(const std::vector<Descriptor>& manifests, const Platform& want, const FileSet& files) {
  std::vector<std::string> available;
  for (const auto& descriptor : manifests) {
    if (!descriptor.platform) continue;
    if (platform_matches(*descriptor.platform, want)) return descriptor;
    available.push_back(platform_text(*descriptor.platform));
  }
  if (manifests.size() == 1 && !manifests.front().platform) return manifests.front();
  fail("no image for platform ", platform_text(want), " in the index in ", quote(files.origin().string()),
       "; it has: ", available.empty() ? std::string("no platform entries") : join(available, ", "));
}

// Follows indexes down to an image manifest for `platform`.
std::pair<Descriptor, json> resolve_manifest(store::Store& store, const FileSet& files, Descriptor descriptor,
                                             const Platform& platform) {
  for (int depth = 0; depth < max_index_depth; ++depth) {
    json document = read_blob_document(store, files, descriptor);
    std::string type = descriptor.media_type.empty() ? document.value("mediaType", "") : descriptor.media_type;
    if (is_manifest_media_type(type) || (type.empty() && document.contains("config"))) return {descriptor, document};
    if (!is_index_media_type(type) && !(type.empty() && document.contains("manifests")))
      fail("blob ", descriptor.digest.str(), " in ", quote(files.origin().string()), " has media type ", quote(type),
           ", which is neither an image manifest nor an index");
    descriptor = select_platform(index_manifests(document, files), platform, files);
  }
  fail("indexes in ", quote(files.origin().string()), " are nested more than ", max_index_depth, " deep");
}

Image load_layout(store::Store& store, const FileSet& files, const std::string& reference, bool match_tag,
                  const Platform& platform) {
  std::string header = read_file(files.locate("oci-layout"));
  if (header.find("imageLayoutVersion") == std::string::npos)
    fail(quote(files.origin().string()), " has an oci-layout file without imageLayoutVersion: it is not an OCI layout");

  json index = parse_document(read_file(files.locate("index.json")), Descriptor{}, files);
  Descriptor entry = select_entry(index_manifests(index, files), reference, match_tag, files);
  auto [manifest_descriptor, manifest] = resolve_manifest(store, files, entry, platform);

  if (!manifest.contains("config") || !manifest.contains("layers") || !manifest["layers"].is_array())
    fail("manifest ", manifest_descriptor.digest.str(), " in ", quote(files.origin().string()),
         " has no config or layers");
  Descriptor config = parse_descriptor(manifest["config"]);
  fs::path config_path = files.locate(cat("blobs/sha256/", config.digest.hex));
  std::string config_bytes = detail::import_document(store, config_path, config.digest, config.size);

  std::vector<detail::LayerSource> layers;
  for (const auto& item : manifest["layers"]) {
    Descriptor layer = parse_descriptor(item);
    layer_compression(layer.media_type);  // rejects foreign and unknown layer types early
    layers.push_back({files.locate(cat("blobs/sha256/", layer.digest.hex)), layer.digest, layer.size,
                      layer.media_type});
  }

  Image image = detail::import_image(store, config_bytes, layers, files.origin());
  image.manifest_digest = manifest_descriptor.digest;
  image.name = reference;
  return image;
}

}  // namespace

Image load_oci_layout(store::Store& store, const fs::path& dir, const std::string& reference,
                      const Platform& platform) {
  return with_context(cat("reading OCI layout ", quote(dir.string())), [&] {
    return load_layout(store, FileSet::directory(dir), reference, false, platform);
  });
}

Image load_oci_archive(store::Store& store, const fs::path& file, const std::string& reference,
                       const Platform& platform) {
  return with_context(cat("reading OCI archive ", quote(file.string())), [&] {
    FileSet files = FileSet::unpack(file, store.tmp_dir());
    return load_layout(store, files, reference, true, platform);
  });
}

}  // namespace imgbuild::image
