// SPDX-License-Identifier: Apache-2.0
// docker-archive files: the tar that `docker save` and `podman save` write
// and `docker load` and `podman load` read.
#include <archive.h>
#include <archive_entry.h>
#include <map>
#include <memory>
#include <set>

#include "image/blob_io.hpp"
#include "image/file_set.hpp"
#include "image/tar_writer.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

using nlohmann::json;
using detail::FileSet;

// Splits "host/path:tag" into repository and tag; a ':' after the last '/'
// starts the tag, so "localhost:5000/app" has no tag. A digest suffix stays
// in the repository part.
std::pair<std::string, std::string> split_tag(const std::string& reference) {
  auto slash = reference.rfind('/');
  auto colon = reference.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash) ||
      reference.find('@') != std::string::npos)
    return {reference, ""};
  return {reference.substr(0, colon), reference.substr(colon + 1)};
}

std::string repo_tag(const std::string& reference) {
  if (reference.empty()) fail("repository tag is empty: give a name such as 'localhost/app:latest'");
  if (reference.find('@') != std::string::npos)
    fail("invalid repository tag ", quote(reference), ": docker-archive names take a tag, not a digest");
  auto [repository, tag] = split_tag(reference);
  if (repository.empty()) fail("invalid repository tag ", quote(reference), ": the repository part is empty");
  return cat(repository, ":", tag.empty() ? "latest" : tag);
}

// Normalizes a name as Docker does: "app" -> "docker.io/library/app:latest",
// "user/app:1" -> "docker.io/user/app:1"; a first component with a '.' or
// ':' or equal to "localhost" is a registry host and stays.
std::string docker_normalize(const std::string& reference) {
  std::string named = repo_tag(reference);
  auto slash = named.find('/');
  std::string first = slash == std::string::npos ? std::string() : named.substr(0, slash);
  bool has_host = !first.empty() &&
                  (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost");
  if (has_host) return named;
  if (slash == std::string::npos) return cat("docker.io/library/", named);
  return cat("docker.io/", named);
}

// True when `wanted` names `tag`, also when podman stored a local image as
// "localhost/app:1" and the user wrote "app:1".
bool names_match(const std::string& wanted, const std::string& tag) {
  if (wanted == tag) return true;
  std::string normalized_tag = docker_normalize(tag);
  if (docker_normalize(wanted) == normalized_tag) return true;
  return starts_with(normalized_tag, "localhost/") && docker_normalize(cat("localhost/", wanted)) == normalized_tag;
}

// Returns the digest in a docker-archive member name. Newer `docker save`
// writes "blobs/sha256/<hex>", and podman writes "<hex>.json" and "<hex>.tar".
// Returns nothing for "<id>/layer.tar", because that id is not a digest.
std::optional<Digest> digest_in_name(const std::string& member) {
  std::string name = detail::normalize_member(member).value_or(member);
  std::string hex;
  if (starts_with(name, "blobs/sha256/"))
    hex = name.substr(13);
  else if ((name.size() == 69 && ends_with(name, ".json")) || (name.size() == 68 && ends_with(name, ".tar")))
    hex = name.substr(0, 64);
  std::string text = cat("sha256:", hex);
  if (!Digest::valid(text)) return std::nullopt;
  return Digest::parse(text);
}

const json& select_image(const json& manifest, const std::string& name, const FileSet& files) {
  if (!manifest.is_array() || manifest.empty())
    fail("manifest.json in ", quote(files.origin().string()), " is not a non-empty array");
  std::vector<std::string> all_tags;
  for (const auto& entry : manifest)
    for (const auto& tag : entry.value("RepoTags", json::array()))
      if (tag.is_string()) all_tags.push_back(quote(tag.get<std::string>()));

  if (name.empty()) {
    if (manifest.size() == 1) return manifest.front();
    fail(quote(files.origin().string()), " holds ", manifest.size(), " images; name one of them: ", join(all_tags, ", "));
  }
  for (const auto& entry : manifest)
    for (const auto& tag : entry.value("RepoTags", json::array()))
      if (tag.is_string() && names_match(name, tag.get<std::string>())) return entry;
  fail("no image named ", quote(name), " in ", quote(files.origin().string()), "; it holds: ",
       all_tags.empty() ? std::string("untagged images only") : join(all_tags, ", "));
}

}  // namespace

namespace {

// True when `file` is already the archive these entries would make: the
// same entry names in the same order, the same blob sizes and the same
// manifest.json and repositories bytes. Blob names are digests, so this
// lets a fully cached build skip rewriting a large archive. Only headers and
// the two small documents are read; libarchive seeks over blob contents.
bool archive_matches(const fs::path& file, const std::vector<std::pair<std::string, std::int64_t>>& blobs,
                     const std::map<std::string, std::string>& documents) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) return false;
  std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_filename(reader.get(), file.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  std::size_t next_blob = 0;
  std::size_t documents_seen = 0;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry);
    if (name == "blobs/" || name == "blobs/sha256/") continue;
    if (auto it = documents.find(name); it != documents.end()) {
      std::string content(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
      if (archive_read_data(reader.get(), content.data(), content.size()) != static_cast<la_ssize_t>(content.size()) ||
          content != it->second)
        return false;
      ++documents_seen;
      continue;
    }
    if (next_blob >= blobs.size() || blobs[next_blob].first != name || blobs[next_blob].second != archive_entry_size(entry))
      return false;
    ++next_blob;
  }
  return next_blob == blobs.size() && documents_seen == documents.size();
}

}  // namespace

SerializedManifest write_docker_archive(const store::Store& store, const Image& image, const fs::path& file,
                                        const std::vector<std::string>& repo_tags) {
  return with_context(cat("writing docker-archive ", quote(file.string())), [&] {
    std::vector<std::string> tags;
    for (const auto& reference : repo_tags) tags.push_back(repo_tag(reference));
    SerializedManifest written = serialize(image, Format::docker);

    json entry = {{"Config", cat("blobs/sha256/", written.config.digest.hex)},
                  {"RepoTags", tags},
                  {"Layers", json::array()}};
    for (const Descriptor& layer : written.layers) entry["Layers"].push_back(cat("blobs/sha256/", layer.digest.hex));

    // `repositories` maps each name to the top layer's id, as `docker save` does.
    json repositories = json::object();
    if (!written.layers.empty()) {
      for (const auto& tag : tags) {
        auto [repository, tag_name] = split_tag(tag);
        repositories[repository][tag_name] = written.layers.back().digest.hex;
      }
    }

    std::map<std::string, const Descriptor*> layer_blobs;
    for (const Descriptor& layer : written.layers) layer_blobs.emplace(layer.digest.hex, &layer);
    std::set<std::string> names = {written.config.digest.hex};
    for (const auto& [hex, layer] : layer_blobs) names.insert(hex);

    std::string manifest_bytes = canonical_json(json::array({entry}));
    std::string repositories_bytes = canonical_json(repositories);
    std::vector<std::pair<std::string, std::int64_t>> expected;
    for (const std::string& hex : names)
      expected.emplace_back(cat("blobs/sha256/", hex), hex == written.config.digest.hex
                                                           ? static_cast<std::int64_t>(written.config_bytes.size())
                                                           : layer_blobs.at(hex)->size);
    if (archive_matches(file, expected, {{"manifest.json", manifest_bytes}, {"repositories", repositories_bytes}}))
      return written;

    detail::PendingFile output(file);
    detail::TarWriter tar(output.temp());
    tar.add_directory("blobs/");
    tar.add_directory("blobs/sha256/");
    for (const std::string& hex : names) {
      std::string name = cat("blobs/sha256/", hex);
      if (hex == written.config.digest.hex)
        tar.add_bytes(name, written.config_bytes);
      else
        tar.add_blob(name, store, layer_blobs.at(hex)->digest, layer_blobs.at(hex)->size);
    }
    tar.add_bytes("manifest.json", manifest_bytes);
    tar.add_bytes("repositories", repositories_bytes);
    tar.finish();
    output.commit();
    return written;
  });
}

Image load_docker_archive(store::Store& store, const fs::path& file, const std::string& name) {
  return with_context(cat("reading docker-archive ", quote(file.string())), [&] {
    FileSet files = FileSet::unpack(file, store.tmp_dir());
    json manifest;
    try {
      manifest = json::parse(read_file(files.locate("manifest.json")));
    } catch (const json::exception& error) {
      fail("manifest.json in ", quote(file.string()), " is not valid JSON: ", error.what());
    }
    const json& entry = select_image(manifest, name, files);
    if (!entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers") ||
        !entry["Layers"].is_array())
      fail("manifest.json in ", quote(file.string()), " has an entry without Config or Layers");

    std::string config_member = entry["Config"].get<std::string>();
    std::string config_bytes =
        detail::import_document(store, files.locate(config_member), digest_in_name(config_member));

    // Layers are usually plain tars (their digest is their diff_id), but
    // gzip and zstd ones are accepted too, as docker and podman load do.
    std::vector<detail::LayerSource> layers;
    for (const auto& member : entry["Layers"]) {
      std::string layer_member = member.is_string() ? member.get<std::string>() : std::string();
      layers.push_back({files.locate(layer_member), digest_in_name(layer_member), std::nullopt, ""});
    }

    Image image = detail::import_image(store, config_bytes, layers, file);
    image.name = name;
    return image;
  });
}

}  // namespace imgbuild::image
