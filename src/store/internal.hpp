// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the store's source files; not part of the public API.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "imgbuild/store/store.hpp"

namespace imgbuild::store {

// Returns a path in `directory` that starts with this process's PID, so
// `Store::open` can tell stale temporaries from live ones.
fs::path unique_temp_path(const fs::path& directory, std::string_view purpose);

// Writes `value` to a temporary file in `tmp_dir`, fsyncs it and renames it
// over `target`, so readers see the old or the new file, never a mix.
void write_json_atomic(const fs::path& tmp_dir, const fs::path& target, const nlohmann::json& value);

[[noreturn]] void throw_corrupt_blob(const Digest& digest, const fs::path& path, const Digest& actual);

nlohmann::json layer_to_json(const LayerRecord& record);
LayerRecord layer_from_json(const nlohmann::json& json);
nlohmann::json cache_to_json(const CacheEntry& entry);
CacheEntry cache_from_json(const nlohmann::json& json);

}  // namespace imgbuild::store
