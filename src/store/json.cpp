// SPDX-License-Identifier: Apache-2.0
// JSON forms of the store's index files (layers/*.json and cache/*.json).
#include <nlohmann/json.hpp>

#include "store/internal.hpp"

namespace imgbuild::store {

nlohmann::json layer_to_json(const LayerRecord& record) {
  nlohmann::json blobs = nlohmann::json::object();
  for (const auto& [compression, blob] : record.blobs) {
    blobs[compression] = {{"digest", blob.digest.str()}, {"size", blob.size}, {"media_type", blob.media_type}};
  }
  return {{"diff_id", record.diff_id.str()}, {"uncompressed_size", record.uncompressed_size}, {"blobs", blobs}};
}

LayerRecord layer_from_json(const nlohmann::json& json) {
  LayerRecord record;
  record.diff_id = Digest::parse(json.at("diff_id").get<std::string>());
  record.uncompressed_size = json.at("uncompressed_size").get<std::uint64_t>();
  for (const auto& [compression, blob] : json.at("blobs").items()) {
    record.blobs[compression] = LayerRecord::Blob{Digest::parse(blob.at("digest").get<std::string>()),
                                                  blob.at("size").get<std::uint64_t>(),
                                                  blob.at("media_type").get<std::string>()};
  }
  return record;
}

nlohmann::json cache_to_json(const CacheEntry& entry) {
  nlohmann::json json = {{"components", entry.components},
                         {"metadata", entry.metadata},
                         {"created", entry.created},
                         {"diff_id", nullptr}};
  if (entry.diff_id) json["diff_id"] = entry.diff_id->str();
  return json;
}

CacheEntry cache_from_json(const nlohmann::json& json) {
  CacheEntry entry;
  entry.components = json.value("components", nlohmann::json::object());
  entry.metadata = json.value("metadata", nlohmann::json());
  entry.created = json.value("created", std::int64_t{0});
  if (json.contains("diff_id") && json.at("diff_id").is_string())
    entry.diff_id = Digest::parse(json.at("diff_id").get<std::string>());
  return entry;
}

}  // namespace imgbuild::store
