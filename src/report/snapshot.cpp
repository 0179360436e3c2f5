// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/snapshot.hpp"

#include <set>

#include "imgbuild/store/store.hpp"
#include "imgbuild/util/json.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/json_forms.hpp"
#include "report/merged_tree.hpp"
#include "report/time.hpp"

namespace imgbuild::report {

using nlohmann::json;

namespace {

constexpr const char* record_schema = "imgbuild-record/1";

json optional_digest(const std::optional<Digest>& digest) {
  return digest ? json(digest->str()) : json(nullptr);
}

}  // namespace

namespace detail {

json package_json(const Package& package) {
  json out = {{"ecosystem", ecosystem_name(package.ecosystem)},
              {"name", package.name},
              {"version", package.version},
              {"installed_size", package.installed_size},
              {"layer", package.layer}};
  if (!package.architecture.empty()) out["architecture"] = package.architecture;
  if (package.ecosystem == Ecosystem::deb) {
    out["source"] = package.source;
    out["source_version"] = package.source_version;
  }
  return out;
}

json finding_json(const Finding& finding) {
  return {{"rule", finding.rule},   {"subject", finding.subject}, {"layer", finding.layer},
          {"step", finding.step},   {"message", finding.message}, {"scope", finding.scope}};
}

json vulnerabilities_json(const std::optional<VulnerabilityCounts>& counts) {
  if (!counts) return nullptr;
  return {{"release", counts->release},
          {"total", counts->total},
          {"by_urgency", counts->by_urgency},
          {"by_package", counts->by_package}};
}

}  // namespace detail

std::uint64_t Snapshot::compressed_size() const {
  std::uint64_t total = 0;
  for (const LayerSummary& layer : layers) total += layer.compressed_size;
  return total;
}

std::uint64_t Snapshot::uncompressed_size() const {
  std::uint64_t total = 0;
  for (const LayerSummary& layer : layers) total += layer.uncompressed_size;
  return total;
}

std::vector<Digest> Snapshot::pinned_blobs() const {
  std::set<Digest> unique;
  if (manifest_digest) unique.insert(*manifest_digest);
  if (config_digest) unique.insert(*config_digest);
  for (const LayerSummary& layer : layers)
    if (!layer.digest.empty()) unique.insert(layer.digest);
  unique.insert(extra_blobs.begin(), extra_blobs.end());
  return {unique.begin(), unique.end()};
}

json to_json(const Snapshot& snapshot) {
  json layers = json::array();
  for (const LayerSummary& layer : snapshot.layers)
    layers.push_back({{"digest", layer.digest.str()},
                      {"diff_id", layer.diff_id.str()},
                      {"compressed_size", layer.compressed_size},
                      {"uncompressed_size", layer.uncompressed_size},
                      {"step", layer.step}});
  json bases = json::array();
  for (const BaseImage& base : snapshot.bases) bases.push_back({{"name", base.name}, {"digest", base.digest.str()}});
  json packages = json::array();
  for (const Package& package : snapshot.packages) packages.push_back(detail::package_json(package));
  json findings = json::array();
  for (const Finding& finding : snapshot.findings) findings.push_back(detail::finding_json(finding));
  json secrets = json::array();
  for (const AllowedSecret& secret : snapshot.allowed_secrets)
    secrets.push_back({{"path", secret.path}, {"rule", secret.rule}});
  json blobs = json::array();
  for (const Digest& digest : snapshot.pinned_blobs()) blobs.push_back(digest.str());

  return {{"schema", record_schema},
          {"name", snapshot.name},
          {"target", snapshot.target},
          {"manifest_digest", optional_digest(snapshot.manifest_digest)},
          {"config_digest", optional_digest(snapshot.config_digest)},
          {"bases", bases},
          {"layers", layers},
          {"size", {{"compressed", snapshot.compressed_size()}, {"uncompressed", snapshot.uncompressed_size()}}},
          {"os", {{"id", snapshot.os.id}, {"version_id", snapshot.os.version_id}, {"codename", snapshot.os.codename}}},
          {"user", snapshot.user},
          {"healthcheck", snapshot.healthcheck ? json(*snapshot.healthcheck) : json(nullptr)},
          {"packages", packages},
          {"policy", findings},
          {"allowed_secrets", secrets},
          {"vulnerabilities", detail::vulnerabilities_json(snapshot.vulnerabilities)},
          {"started", detail::format_rfc3339(snapshot.started)},
          {"finished", detail::format_rfc3339(snapshot.finished)},
          {"success", snapshot.success},
          {"blobs", blobs}};
}

namespace {

const json& member(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) fail("missing field ", quote(key));
  return object.at(key);
}

std::optional<Digest> read_optional_digest(const json& value) {
  if (value.is_null()) return std::nullopt;
  return Digest::parse(value.get<std::string>());
}

Package read_package(const json& value) {
  Package package;
  package.ecosystem = parse_ecosystem(member(value, "ecosystem").get<std::string>());
  package.name = member(value, "name").get<std::string>();
  package.version = member(value, "version").get<std::string>();
  package.architecture = value.value("architecture", "");
  package.installed_size = value.value("installed_size", std::uint64_t{0});
  package.layer = value.value("layer", -1);
  package.source = value.value("source", "");
  package.source_version = value.value("source_version", "");
  return package;
}

Finding read_finding(const json& value) {
  Finding finding;
  finding.rule = member(value, "rule").get<std::string>();
  finding.subject = value.value("subject", "");
  finding.layer = value.value("layer", -1);
  finding.step = value.value("step", "");
  finding.message = value.value("message", "");
  finding.scope = value.value("scope", "");
  return finding;
}

std::optional<VulnerabilityCounts> read_vulnerabilities(const json& value) {
  if (value.is_null()) return std::nullopt;
  VulnerabilityCounts counts;
  counts.release = member(value, "release").get<std::string>();
  counts.total = member(value, "total").get<std::uint64_t>();
  counts.by_urgency = member(value, "by_urgency").get<std::map<std::string, std::uint64_t>>();
  counts.by_package = value.value("by_package", std::map<std::string, std::uint64_t>{});
  return counts;
}

void read_lists(const json& record, Snapshot& snapshot) {
  for (const auto& base : member(record, "bases"))
    snapshot.bases.push_back({member(base, "name").get<std::string>(),
                              Digest::parse(member(base, "digest").get<std::string>())});
  for (const auto& layer : member(record, "layers"))
    snapshot.layers.push_back({Digest::parse(member(layer, "digest").get<std::string>()),
                               Digest::parse(member(layer, "diff_id").get<std::string>()),
                               member(layer, "compressed_size").get<std::uint64_t>(),
                               member(layer, "uncompressed_size").get<std::uint64_t>(),
                               layer.value("step", "")});
  for (const auto& package : member(record, "packages")) snapshot.packages.push_back(read_package(package));
  for (const auto& finding : record.value("policy", json::array())) snapshot.findings.push_back(read_finding(finding));
  for (const auto& secret : record.value("allowed_secrets", json::array()))
    snapshot.allowed_secrets.push_back({member(secret, "path").get<std::string>(), secret.value("rule", "")});
}

Snapshot read_snapshot(const json& record) {
  std::string schema = member(record, "schema").get<std::string>();
  if (schema != record_schema)
    fail("unsupported record schema ", quote(schema), "; this imgbuild reads ", quote(record_schema));

  Snapshot snapshot;
  snapshot.name = member(record, "name").get<std::string>();
  snapshot.target = record.value("target", "");
  snapshot.manifest_digest = read_optional_digest(member(record, "manifest_digest"));
  snapshot.config_digest = read_optional_digest(record.value("config_digest", json()));
  read_lists(record, snapshot);

  const auto& os = record.value("os", json::object());
  snapshot.os = {os.value("id", ""), os.value("version_id", ""), os.value("codename", "")};
  snapshot.user = record.value("user", "");
  if (record.contains("healthcheck") && !record["healthcheck"].is_null())
    snapshot.healthcheck = record["healthcheck"].get<std::vector<std::string>>();
  snapshot.vulnerabilities = read_vulnerabilities(record.value("vulnerabilities", json()));
  snapshot.started = detail::parse_rfc3339(member(record, "started").get<std::string>());
  snapshot.finished = detail::parse_rfc3339(member(record, "finished").get<std::string>());
  snapshot.success = member(record, "success").get<bool>();

  // Blobs beyond the manifest, config and layers were extra pins.
  std::vector<Digest> known = snapshot.pinned_blobs();
  for (const auto& blob : record.value("blobs", json::array())) {
    Digest digest = Digest::parse(blob.get<std::string>());
    if (std::find(known.begin(), known.end(), digest) == known.end()) snapshot.extra_blobs.push_back(digest);
  }
  return snapshot;
}

}  // namespace

Snapshot snapshot_from_json(const json& record) {
  try {
    return read_snapshot(record);
  } catch (const nlohmann::json::exception& error) {
    fail("invalid build record: ", error.what());
  } catch (const Error& error) {
    throw error.with_context("invalid build record");
  }
}

namespace {

// Labels each layer with the created_by of its history entry; entries
// marked empty_layer made no layer.
std::vector<std::string> step_labels(const json& config, std::size_t layer_count) {
  std::vector<std::string> labels;
  if (config.contains("history") && config["history"].is_array()) {
    for (const auto& entry : config["history"]) {
      if (entry.value("empty_layer", false)) continue;
      labels.push_back(entry.value("created_by", entry.value("comment", "")));
    }
  }
  labels.resize(layer_count);
  return labels;
}

void read_config(const json& config, Snapshot& snapshot) {
  if (!config.contains("config") || !config["config"].is_object()) return;
  const json& runtime = config["config"];
  if (runtime.contains("User") && runtime["User"].is_string()) snapshot.user = runtime["User"].get<std::string>();
  if (runtime.contains("Healthcheck") && runtime["Healthcheck"].is_object()) {
    const json& test = runtime["Healthcheck"].value("Test", json::array());
    if (test.is_array()) snapshot.healthcheck = test.get<std::vector<std::string>>();
  }
}

}  // namespace

namespace {

// The catalogue depends only on the layers' tar contents, so it is cached
// in the store under the chain of diff_ids: a fully cached rebuild then
// reads a small JSON file instead of decompressing every layer again.
constexpr const char* catalog_version = "imgbuild-catalog-1";

// After a layer at least this large the walk also leaves a checkpoint, the
// state of the merged tree so far. An image that shares those lower layers,
// as after a change to one application file, then reads only the layers
// above them instead of inflating a base of a few hundred megabytes again.
constexpr std::uint64_t checkpoint_min_blob = 4ull << 20;

std::string chain_hex(const image::Image& image, std::size_t count) {
  std::string chain = catalog_version;
  for (std::size_t i = 0; i < count; ++i) chain += "\n" + image.layers[i].diff_id.str();
  return sha256_of(chain).hex;
}

fs::path catalog_path(const image::Image& image, const store::Store& store) {
  return store.root() / "catalog" / (chain_hex(image, image.layers.size()) + ".json");
}

fs::path checkpoint_path(const image::Image& image, const store::Store& store, std::size_t count) {
  return store.root() / "catalog" / (chain_hex(image, count) + ".state.json");
}

const char* kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::regular: return "f";
    case FileKind::directory: return "d";
    case FileKind::symlink: return "l";
    case FileKind::hardlink: return "h";
    case FileKind::other: return "o";
  }
  return "o";
}

FileKind parse_kind(const std::string& text) {
  if (text == "f") return FileKind::regular;
  if (text == "d") return FileKind::directory;
  if (text == "l") return FileKind::symlink;
  if (text == "h") return FileKind::hardlink;
  return FileKind::other;
}

json files_json(const std::map<std::string, FileRecord>& files);
std::map<std::string, FileRecord> files_from_json(const json& value);

json filesystem_json(const Filesystem& filesystem) {
  json files = files_json(filesystem.files);
  json overwrites = json::array();
  for (const Overwrite& overwrite : filesystem.overwrites)
    overwrites.push_back({{"path", overwrite.path}, {"layers", overwrite.layers}, {"wasted", overwrite.wasted}});
  json packages = json::array();
  for (const Package& package : filesystem.packages) packages.push_back(detail::package_json(package));
  return {{"version", catalog_version},
          {"files", files},
          {"overwrites", overwrites},
          {"packages", packages},
          {"os", {filesystem.os.id, filesystem.os.version_id, filesystem.os.codename}},
          {"layer_tar_sizes", filesystem.layer_tar_sizes}};
}

Filesystem filesystem_from_json(const json& value) {
  Filesystem filesystem;
  filesystem.files = files_from_json(value.at("files"));
  for (const auto& overwrite : value.at("overwrites"))
    filesystem.overwrites.push_back({overwrite.at("path").get<std::string>(),
                                     overwrite.at("layers").get<std::vector<int>>(),
                                     overwrite.at("wasted").get<std::uint64_t>()});
  for (const auto& package : value.at("packages")) filesystem.packages.push_back(read_package(package));
  const json& os = value.at("os");
  filesystem.os = {os.at(0).get<std::string>(), os.at(1).get<std::string>(), os.at(2).get<std::string>()};
  filesystem.layer_tar_sizes = value.at("layer_tar_sizes").get<std::vector<std::uint64_t>>();
  return filesystem;
}

json files_json(const std::map<std::string, FileRecord>& files) {
  json out = json::object();
  for (const auto& [path, record] : files) out[path] = {kind_name(record.kind), record.size, record.layer};
  return out;
}

std::map<std::string, FileRecord> files_from_json(const json& value) {
  std::map<std::string, FileRecord> files;
  for (const auto& [path, record] : value.items())
    files[path] = {parse_kind(record.at(0).get<std::string>()), record.at(1).get<std::uint64_t>(),
                   record.at(2).get<int>()};
  return files;
}

json state_json(const detail::TreeState& state) {
  json overwrites = json::array();
  for (const auto& [path, overwrite] : state.overwrites)
    overwrites.push_back({{"path", path}, {"layers", overwrite.layers}, {"wasted", overwrite.wasted}});
  json packages = json::array();
  for (const Package& package : state.packages) packages.push_back(detail::package_json(package));
  return {{"version", catalog_version},
          {"files", files_json(state.files)},
          {"overwrites", overwrites},
          {"interesting", state.interesting},
          {"packages", packages},
          {"layer_tar_sizes", state.layer_tar_sizes}};
}

detail::TreeState state_from_json(const json& value) {
  detail::TreeState state;
  state.files = files_from_json(value.at("files"));
  for (const auto& overwrite : value.at("overwrites")) {
    std::string path = overwrite.at("path").get<std::string>();
    state.overwrites[path] = {path, overwrite.at("layers").get<std::vector<int>>(),
                              overwrite.at("wasted").get<std::uint64_t>()};
  }
  state.interesting = value.at("interesting").get<detail::InterestingFiles>();
  for (const auto& package : value.at("packages")) state.packages.push_back(read_package(package));
  state.layer_tar_sizes = value.at("layer_tar_sizes").get<std::vector<std::uint64_t>>();
  return state;
}

// Returns a cached catalogue or checkpoint, or nothing when it is missing,
// unreadable or of another version (then it is simply rebuilt).
std::optional<json> load_json(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  try {
    json value = json::parse(read_file(path));
    if (value.value("version", "") != catalog_version) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Filesystem> load_catalog(const fs::path& path) {
  std::optional<json> value = load_json(path);
  if (!value) return std::nullopt;
  try {
    return filesystem_from_json(*value);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Starts from the deepest checkpoint below the top layer, reads the layers
// above it and leaves new checkpoints after large layers.
Filesystem walk_layers(const image::Image& image, const store::Store& store, std::span<const fs::path> blobs) {
  detail::MergedTree tree;
  std::size_t first = 0;
  for (std::size_t count = blobs.size() - (blobs.empty() ? 0 : 1); count > 0 && first == 0; --count) {
    std::optional<json> saved = load_json(checkpoint_path(image, store, count));
    try {
      if (saved) {
        tree = detail::MergedTree(state_from_json(*saved));
        first = count;
      }
    } catch (const std::exception&) {
      // Unreadable: the walk below reads those layers and writes it again.
    }
  }

  detail::read_layers_into(tree, blobs, first, [&](std::size_t count) {
    if (count == blobs.size() || fs::file_size(blobs[count - 1]) < checkpoint_min_blob) return;
    fs::path path = checkpoint_path(image, store, count);
    try {
      fs::create_directories(path.parent_path());
      write_file_atomic(path, state_json(tree.state()).dump());
    } catch (const nlohmann::json::exception&) {
      // A catalogued file that is not UTF-8 cannot go into JSON; the next
      // build reads these layers again.
    }
  });
  return tree.finish();
}

Snapshot snapshot_of_filesystem(const image::Image& image, Filesystem filesystem,
                                const std::function<std::uint64_t(std::size_t)>& blob_size) {
  std::vector<std::string> steps = step_labels(image.config, image.layers.size());
  Snapshot snapshot;
  snapshot.name = image.name;
  snapshot.manifest_digest = image.manifest_digest;
  for (std::size_t i = 0; i < image.layers.size(); ++i) {
    const image::Layer& layer = image.layers[i];
    LayerSummary summary{layer.blob.digest, layer.diff_id, static_cast<std::uint64_t>(layer.blob.size),
                         layer.uncompressed_size, steps[i]};
    if (summary.compressed_size == 0) summary.compressed_size = blob_size(i);
    if (summary.uncompressed_size == 0) summary.uncompressed_size = filesystem.layer_tar_sizes[i];
    snapshot.layers.push_back(std::move(summary));
  }
  read_config(image.config, snapshot);
  snapshot.packages = std::move(filesystem.packages);
  snapshot.os = std::move(filesystem.os);
  snapshot.files = std::move(filesystem.files);
  snapshot.overwrites = std::move(filesystem.overwrites);
  snapshot.has_files = true;
  return snapshot;
}

}  // namespace

Snapshot snapshot_of_layers(const image::Image& image, std::span<const fs::path> blobs) {
  if (blobs.size() != image.layers.size())
    fail("image ", quote(image.name), " has ", image.layers.size(), " layers but ", blobs.size(),
         " blobs were given");
  return snapshot_of_filesystem(image, read_layers(blobs), [&](std::size_t i) { return fs::file_size(blobs[i]); });
}

Snapshot snapshot_of_image(const image::Image& image, const store::Store& store) {
  std::vector<fs::path> blobs;
  for (const image::Layer& layer : image.layers) blobs.push_back(store.blob_path(layer.blob.digest));
  fs::path cache = catalog_path(image, store);
  std::optional<Filesystem> filesystem = load_catalog(cache);
  if (!filesystem) {
    filesystem = walk_layers(image, store, blobs);
    fs::create_directories(cache.parent_path());
    write_file_atomic(cache, json_text(filesystem_json(*filesystem)));
  }
  return snapshot_of_filesystem(image, std::move(*filesystem), [&](std::size_t i) { return fs::file_size(blobs[i]); });
}

}  // namespace imgbuild::report
