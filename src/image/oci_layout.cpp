// SPDX-License-Identifier: Apache-2.0
// Writing OCI image layouts and OCI archives from the store.
#include <algorithm>
#include <map>
#include <set>

#include "image/blob_io.hpp"
#include "image/file_set.hpp"
#include "image/tar_writer.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

using nlohmann::json;
using detail::FileSet;

constexpr std::string_view layout_header = R"({"imageLayoutVersion":"1.0.0"})";

void check_tag(const std::string& tag) {
  if (tag.empty()) fail("image tag is empty: give a tag such as 'latest'");
  for (unsigned char c : tag)
    if (c <= ' ' || c == 0x7f) fail("invalid image tag ", quote(tag), ": it must not contain spaces or control characters");
}

// The index.json descriptor of the image manifest for one ref.name.
json manifest_entry(const SerializedManifest& written, const Image& image, const std::string& ref_name) {
  Descriptor descriptor = written.manifest;
  descriptor.annotations[annotation::ref_name] = ref_name;
  Platform platform = config_platform(image.config);
  if (!platform.os.empty() && !platform.architecture.empty()) descriptor.platform = platform;
  return descriptor_json(descriptor);
}

std::string ref_name_of(const json& entry) {
  if (!entry.contains("annotations") || !entry["annotations"].is_object()) return {};
  return entry["annotations"].value(annotation::ref_name, std::string());
}

json read_index(const fs::path& file) {
  std::string text = read_file(file);
  try {
    json index = json::parse(text);
    if (!index.is_object()) fail("the top level is not an object");
    return index;
  } catch (const json::exception& error) {
    fail("index ", quote(file.string()), " is not valid JSON: ", error.what());
  }
}

// Adds one descriptor per tag to `index` and keeps the other images. An
// existing descriptor with that ref.name is replaced at its position, so
// writing the same image again leaves the bytes unchanged.
void merge_tags(json& index, const SerializedManifest& written, const Image& image,
                const std::vector<std::string>& tags) {
  json& manifests = index["manifests"];
  if (!manifests.is_array()) manifests = json::array();
  for (const std::string& tag : tags) {
    json entry = manifest_entry(written, image, tag);
    auto existing = std::find_if(manifests.begin(), manifests.end(),
                                 [&](const json& item) { return ref_name_of(item) == tag; });
    if (existing != manifests.end())
      *existing = std::move(entry);
    else
      manifests.push_back(std::move(entry));
  }
}

void write_if_changed(const fs::path& path, std::string_view bytes) {
  std::error_code error;
  if (fs::is_regular_file(path, error) && read_file(path) == bytes) return;
  write_file_atomic(path, bytes);
}

// containers/image (skopeo 1.9, podman 4.3) skips index.json entries that
// are not OCI manifests or indexes, so a Docker manifest in a layout would
// look missing to them.
void check_layout_format(Format format) {
  if (format == Format::docker)
    fail("image format 'docker' cannot be written to an OCI layout or OCI archive, because skopeo and podman "
         "find only OCI manifests there: use format 'oci', or a docker-archive output for the Docker form");
}

std::vector<std::string> with_default_tag(const std::vector<std::string>& tags) {
  if (tags.empty()) return {"latest"};
  return tags;
}

}  // namespace

SerializedManifest write_oci_layout(const store::Store& store, const Image& image, const fs::path& dir,
                                    const std::vector<std::string>& tags, Format format) {
  return with_context(cat("writing OCI layout ", quote(dir.string())), [&] {
    std::vector<std::string> refs = with_default_tag(tags);
    for (const auto& tag : refs) check_tag(tag);
    check_layout_format(format);
    SerializedManifest written = serialize(image, format);

    fs::path blobs = dir / "blobs" / "sha256";
    fs::create_directories(blobs);
    for (const Descriptor& layer : written.layers) detail::export_blob(store, layer, blobs);
    detail::export_bytes(written.config_bytes, written.config.digest, blobs);
    detail::export_bytes(written.manifest_bytes, written.manifest.digest, blobs);

    // TODO: two processes adding tags to one layout at once can lose one
    // side's tags, because index.json is read, merged and renamed unlocked.
    json index = fs::exists(dir / "index.json") ? read_index(dir / "index.json")
                                                 : json{{"schemaVersion", 2}, {"mediaType", media_type::oci_index}};
    merge_tags(index, written, image, refs);
    write_if_changed(dir / "oci-layout", layout_header);
    // index.json goes last: until it is renamed into place, readers see the
    // previous state of the layout, whose blobs are all still there.
    write_if_changed(dir / "index.json", canonical_json(index));
    fsync_directory(dir);
    return written;
  });
}

SerializedManifest write_oci_archive(const store::Store& store, const Image& image, const fs::path& file,
                                     const std::vector<std::string>& references, Format format) {
  return with_context(cat("writing OCI archive ", quote(file.string())), [&] {
    std::vector<std::string> refs = with_default_tag(references);
    for (const auto& ref : refs) check_tag(ref);
    check_layout_format(format);
    SerializedManifest written = serialize(image, format);

    json index = {{"schemaVersion", 2}, {"mediaType", media_type::oci_index}};
    merge_tags(index, written, image, refs);

    // Entries in sorted name order; a blob shared by two layers is written once.
    std::map<std::string, const Descriptor*> layer_blobs;
    for (const Descriptor& layer : written.layers) layer_blobs.emplace(layer.digest.hex, &layer);
    std::map<std::string, std::string_view> documents = {{written.config.digest.hex, written.config_bytes},
                                                         {written.manifest.digest.hex, written.manifest_bytes}};

    detail::PendingFile output(file);
    detail::TarWriter tar(output.temp());
    tar.add_directory("blobs/");
    tar.add_directory("blobs/sha256/");
    std::set<std::string> names;
    for (const auto& [hex, layer] : layer_blobs) names.insert(hex);
    for (const auto& [hex, bytes] : documents) names.insert(hex);
    for (const std::string& hex : names) {
      std::string name = cat("blobs/sha256/", hex);
      if (auto document = documents.find(hex); document != documents.end())
        tar.add_bytes(name, document->second);
      else
        tar.add_blob(name, store, layer_blobs.at(hex)->digest, layer_blobs.at(hex)->size);
    }
    tar.add_bytes("index.json", canonical_json(index));
    tar.add_bytes("oci-layout", layout_header);
    tar.finish();
    output.commit();
    return written;
  });
}

}  // namespace imgbuild::image
