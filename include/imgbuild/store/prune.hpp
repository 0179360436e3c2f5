// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "imgbuild/store/store.hpp"

namespace imgbuild::store {

struct PruneOptions {
  // Removes least recently used cache entries until the blobs and unpacked
  // layers still referenced fit in this many bytes (--keep-storage).
  std::optional<std::uint64_t> keep_storage;
  // Removes cache entries not used within this time (--max-age).
  std::optional<std::chrono::seconds> max_age;
  // How long to wait for running builds to release the store.
  std::chrono::seconds lock_timeout{0};
  // Current unix time; 0 means the clock. Tests set it.
  std::int64_t now = 0;
};

struct PruneResult {
  std::size_t cache_entries = 0;  // removed
  std::size_t layers = 0;         // layer records removed
  std::size_t blobs = 0;          // blobs removed
  std::size_t unpacked = 0;       // unpacked layer and chain directories removed
  std::uint64_t freed_bytes = 0;
  std::uint64_t kept_bytes = 0;   // blobs and unpacked directories left
};

// Removes cache entries by age and size budget, then every blob, layer
// record and unpacked directory that neither a build record (its "blobs"
// array) nor a remaining cache entry references. With neither budget set,
// all cache entries go and only what build records reference stays. Takes
// the store lock exclusively for the duration; throws when builds hold it
// past `lock_timeout`.
PruneResult prune(Store& store, const PruneOptions& options);

// Parses a duration such as "90s", "15m", "36h", "7d", "2w" or "1h30m";
// throws naming the text otherwise.
std::chrono::seconds parse_duration(std::string_view text);

// Parses a byte count such as "500000", "800MB", "2GiB" (kB/MB/GB/TB are
// powers of 1000, KiB/MiB/GiB/TiB powers of 1024); throws naming the text.
std::uint64_t parse_byte_size(std::string_view text);

}  // namespace imgbuild::store
