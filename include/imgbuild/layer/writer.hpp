// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/layer/entry.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::layer {

enum class Compression { gzip, zstd, none };

// "gzip", "zstd" or "none": the key of LayerRecord::blobs.
std::string_view compression_name(Compression compression);
// Parses "gzip", "zstd" or "none"; throws naming the text otherwise.
Compression parse_compression(std::string_view text);
// The OCI layer media type: application/vnd.oci.image.layer.v1.tar[+gzip|+zstd].
std::string_view media_type(Compression compression);

struct WriteOptions {
  Compression compression = Compression::gzip;
  std::int64_t epoch = 0;     // mtimes above it are clamped down to it
  unsigned threads = 0;       // compression threads; 0: one per core
};

struct LayerResult {
  Digest diff_id;             // sha256 of the uncompressed tar
  Digest digest;              // sha256 of the blob as stored
  std::uint64_t size = 0;     // blob bytes
  std::uint64_t uncompressed_size = 0;
  std::string media_type;
  Compression compression = Compression::gzip;
  std::size_t entries = 0;    // tar entries written (sockets are skipped)
};

// Writes `entries` as one deterministic layer into `store` and records it as
// a LayerRecord. The writer orders entries (see `sort_entries`), points every
// hardlink of an inode at the first of its names, clamps mtimes to the epoch,
// writes numeric ids only, and hashes the tar (diff_id) and the blob while
// compressing. Equal entries give equal bytes whatever `threads` is. Throws
// naming the entry for an invalid path, a duplicate, a hardlink to a name
// missing from the layer, or a parent that is not a directory.
LayerResult write_layer(std::vector<Entry> entries, const WriteOptions& options, store::Store& store);

// Adds an already compressed (or plain tar) layer blob to the store without
// recompressing it: copies it, sniffs the compression from its magic bytes,
// computes the diff_id by decompressing, and records a LayerRecord. Throws
// when `expected_digest` or `expected_diff_id` do not match.
LayerResult import_layer_blob(store::Store& store, const std::filesystem::path& blob,
                              const std::optional<Digest>& expected_digest = std::nullopt,
                              const std::optional<Digest>& expected_diff_id = std::nullopt);
// As above for a blob already in the store (a registry pull writes there).
LayerResult import_layer_blob(store::Store& store, const Digest& digest,
                              const std::optional<Digest>& expected_diff_id = std::nullopt);

}  // namespace imgbuild::layer
