// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/store/prune.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>
#include <sys/stat.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "store/internal.hpp"

namespace imgbuild::store {
namespace {

struct CacheFile {
  fs::path path;
  std::int64_t last_used = 0;  // max(created, file mtime): find_cache touches the file
  std::set<Digest> references;
};

// The references and index entries that prune reads from the store.
struct Inventory {
  std::set<Digest> pinned;  // named by build records
  std::vector<CacheFile> cache;
  std::map<Digest, LayerRecord> layers;      // by diff_id
  std::map<Digest, Digest> layer_of_blob;    // blob digest -> diff_id
};

// Collects every "sha256:<hex>" string anywhere in `json`.
void collect_digests(const nlohmann::json& json, std::set<Digest>& out) {
  if (json.is_string()) {
    const auto& text = json.get_ref<const std::string&>();
    if (Digest::valid(text)) out.insert(Digest::parse(text));
    return;
  }
  if (json.is_structured()) {
    for (const auto& item : json) collect_digests(item, out);
  }
}

std::int64_t mtime_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mtim.tv_sec;
}

std::uint64_t tree_bytes(const fs::path& path) {
  std::error_code error;
  if (fs::is_regular_file(fs::symlink_status(path, error))) return fs::file_size(path, error);
  std::uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (it->is_regular_file(error) && !it->is_symlink(error)) total += it->file_size(error);
  }
  return total;
}

void load_records(const Store& store, Inventory& inventory) {
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(store.records_dir(), error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(read_file(it->path()));
    } catch (const nlohmann::json::exception& parse_error) {
      fail("cannot parse build record ", it->path(), " (", parse_error.what(),
           "); fix or remove it before pruning, since prune cannot tell what it references");
    }
    if (record.contains("blobs")) collect_digests(record.at("blobs"), inventory.pinned);
  }
}

void load_cache(const Store& store, Inventory& inventory, PruneResult& result) {
  for (const auto& item : fs::directory_iterator(store.cache_dir())) {
    if (item.path().extension() != ".json") continue;
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(read_file(item.path()));
    } catch (const nlohmann::json::exception& parse_error) {
      log::warn(cat("removing unreadable cache entry ", item.path(), ": ", parse_error.what()));
      fs::remove(item.path());
      ++result.cache_entries;
      continue;
    }
    CacheFile file{item.path(), std::max(json.value("created", std::int64_t{0}), mtime_of(item.path())), {}};
    collect_digests(json, file.references);
    inventory.cache.push_back(std::move(file));
  }
}

void load_layers(const Store& store, Inventory& inventory) {
  for (const auto& item : fs::directory_iterator(store.layers_dir())) {
    if (item.path().extension() != ".json") continue;
    LayerRecord record = with_context(cat("reading layer record ", item.path()), [&] {
      return layer_from_json(nlohmann::json::parse(read_file(item.path())));
    });
    for (const auto& [compression, blob] : record.blobs) inventory.layer_of_blob[blob.digest] = record.diff_id;
    inventory.layers[record.diff_id] = std::move(record);
  }
}

// Expands references to whole layers: a diff_id or any blob of a layer
// keeps the layer record, every blob of it and its unpacked directory.
std::set<Digest> closure(const Inventory& inventory, const std::vector<const CacheFile*>& kept_cache) {
  std::set<Digest> roots = inventory.pinned;
  for (const CacheFile* file : kept_cache) roots.insert(file->references.begin(), file->references.end());

  std::set<Digest> kept = roots;
  for (const Digest& digest : roots) {
    const LayerRecord* layer = nullptr;
    if (auto found = inventory.layers.find(digest); found != inventory.layers.end()) layer = &found->second;
    if (auto owner = inventory.layer_of_blob.find(digest); owner != inventory.layer_of_blob.end())
      layer = &inventory.layers.at(owner->second);
    if (layer == nullptr) continue;
    kept.insert(layer->diff_id);
    for (const auto& [compression, blob] : layer->blobs) kept.insert(blob.digest);
  }
  return kept;
}

std::uint64_t kept_size(const Store& store, const std::set<Digest>& kept, std::map<fs::path, std::uint64_t>& sizes) {
  std::uint64_t total = 0;
  auto measure = [&](const fs::path& path) {
    auto [it, inserted] = sizes.try_emplace(path, 0);
    if (inserted && fs::exists(fs::symlink_status(path))) it->second = tree_bytes(path);
    return it->second;
  };
  for (const Digest& digest : kept) total += measure(store.blob_path(digest)) + measure(store.unpacked_dir(digest));
  return total;
}

// Chooses the cache entries that stay: younger than max_age, then newest
// first while the referenced content fits the size budget.
std::vector<const CacheFile*> select_cache(const Store& store, const Inventory& inventory,
                                           const PruneOptions& options, std::int64_t now) {
  std::vector<const CacheFile*> kept;
  if (!options.max_age && !options.keep_storage) return kept;
  for (const CacheFile& file : inventory.cache) {
    if (options.max_age && file.last_used < now - options.max_age->count()) continue;
    kept.push_back(&file);
  }
  if (!options.keep_storage) return kept;

  std::sort(kept.begin(), kept.end(), [](const CacheFile* a, const CacheFile* b) {
    return a->last_used != b->last_used ? a->last_used > b->last_used : a->path < b->path;
  });
  std::map<fs::path, std::uint64_t> sizes;
  while (!kept.empty() && kept_size(store, closure(inventory, kept), sizes) > *options.keep_storage) kept.pop_back();
  return kept;
}

std::uint64_t remove_counted(const fs::path& path) {
  std::uint64_t bytes = tree_bytes(path);
  remove_tree(path);
  return bytes;
}

// Removes flattened chains whose listed layers are not all kept.
void remove_chains(const Store& store, const std::set<Digest>& kept, PruneResult& result) {
  fs::path unpacked = store.unpacked_dir(Digest{}).parent_path();
  for (const auto& item : fs::directory_iterator(unpacked)) {
    std::string name = item.path().filename().string();
    if (!starts_with(name, "chain-") || item.path().extension() == ".json") continue;
    fs::path list = item.path();
    list += ".json";
    bool keep = fs::exists(list);
    if (keep) {
      try {
        for (const auto& text : nlohmann::json::parse(read_file(list)).at("diff_ids"))
          keep = keep && Digest::valid(text.get<std::string>()) && kept.count(Digest::parse(text.get<std::string>())) > 0;
      } catch (const nlohmann::json::exception&) {
        keep = false;
      }
    }
    if (keep) continue;
    result.freed_bytes += remove_counted(item.path());
    fs::remove(list);
    ++result.unpacked;
  }
}

void remove_unreferenced(const Store& store, const Inventory& inventory, const std::set<Digest>& kept,
                         PruneResult& result) {
  for (const auto& item : fs::directory_iterator(store.blob_path(Digest{}).parent_path())) {
    std::string hex = item.path().filename().string();
    if (Digest::valid("sha256:" + hex) && kept.count(Digest{hex})) continue;
    result.freed_bytes += remove_counted(item.path());
    ++result.blobs;
  }
  for (const auto& [diff_id, record] : inventory.layers) {
    if (kept.count(diff_id)) continue;
    fs::remove(store.layers_dir() / (diff_id.hex + ".json"));
    ++result.layers;
  }
  for (const auto& item : fs::directory_iterator(store.unpacked_dir(Digest{}).parent_path())) {
    std::string hex = item.path().filename().string();
    if (!Digest::valid("sha256:" + hex) || kept.count(Digest{hex})) continue;
    result.freed_bytes += remove_counted(item.path());
    ++result.unpacked;
  }
  remove_chains(store, kept, result);
}

}  // namespace

PruneResult prune(Store& store, const PruneOptions& options) {
  store.lock_exclusive(options.lock_timeout);
  struct Relock {
    Store& store;
    ~Relock() {
      try {
        store.lock_shared();
      } catch (const Error& error) {
        log::warn(error.what());
      }
    }
  } relock{store};

  PruneResult result;
  Inventory inventory;
  load_records(store, inventory);
  load_cache(store, inventory, result);
  load_layers(store, inventory);

  std::int64_t now = options.now != 0 ? options.now : static_cast<std::int64_t>(std::time(nullptr));
  std::vector<const CacheFile*> kept_cache = select_cache(store, inventory, options, now);
  std::set<const CacheFile*> kept_set(kept_cache.begin(), kept_cache.end());
  for (const CacheFile& file : inventory.cache) {
    if (kept_set.count(&file)) continue;
    fs::remove(file.path);
    ++result.cache_entries;
  }

  std::set<Digest> kept = closure(inventory, kept_cache);
  remove_unreferenced(store, inventory, kept, result);

  // Package catalogues of built images and the platform manifests that
  // pinned bases resolved to are caches rebuilt on demand, so they all go.
  std::error_code ignored;
  fs::remove_all(store.root() / "catalog", ignored);
  fs::remove_all(store.root() / "resolved", ignored);

  std::map<fs::path, std::uint64_t> sizes;
  result.kept_bytes = kept_size(store, kept, sizes);
  return result;
}

std::chrono::seconds parse_duration(std::string_view text) {
  static const std::map<char, std::int64_t> units = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    bool has_unit = i < text.size() && units.count(text[i]);
    if (start == i || i - start > 12 || !has_unit)
      fail_with(ExitCode::usage, "invalid duration ", quote(text), ": expected a number with a unit s, m, h, d or w, such as '36h' or '1h30m'");
    total += std::stoll(std::string(text.substr(start, i - start))) * units.at(text[i]);
    ++i;
  }
  if (text.empty()) fail_with(ExitCode::usage, "invalid duration '': expected a value such as '7d'");
  return std::chrono::seconds(total);
}

std::uint64_t parse_byte_size(std::string_view text) {
  static const std::map<std::string, std::uint64_t, std::less<>> units = {
      {"", 1},        {"B", 1},           {"kB", 1000},          {"KB", 1000},
      {"MB", 1000000}, {"GB", 1000000000}, {"TB", 1000000000000}, {"KiB", 1024},
      {"MiB", 1 << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}};
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  auto unit = units.find(trim(text.substr(digits)));
  if (digits == 0 || digits > 15 || unit == units.end())
    fail_with(ExitCode::usage, "invalid size ", quote(text), ": expected bytes with an optional unit, such as '800MB' or '2GiB'");
  return std::stoull(std::string(text.substr(0, digits))) * unit->second;
}

}  // namespace imgbuild::store
