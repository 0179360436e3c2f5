// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/fs.hpp"

namespace imgbuild::store {

namespace fs = std::filesystem;

// A blob being written into the store. Bytes go to a temporary file under
// the store's tmp/ directory; `commit` fsyncs it and renames it to
// blobs/sha256/<hex>, so a crash never leaves a partial blob under a digest
// name. Destroying an uncommitted writer removes the temporary file.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  ~BlobWriter();
  void write(const void* data, std::size_t size);
  int fd() const;  // for writers that need a raw descriptor (sendfile, libarchive)
  // Finishes the blob; `expected` (when given) must match or commit throws.
  Digest commit(const std::optional<Digest>& expected = std::nullopt);
  std::uint64_t size() const;

 private:
  friend class Store;
  struct State;
  explicit BlobWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// What the cache index stores for a step key: the layer it produced (or none
// for a step that changed nothing) and the key's components, so a later miss
// can name the input that changed.
struct CacheEntry {
  nlohmann::json components;              // {"parent": "...", "definition": "...", ...}
  std::optional<Digest> diff_id;          // nothing: the step produced no layer
  nlohmann::json metadata;                // free-form data the step kind needs back
  std::int64_t created = 0;               // unix seconds, for prune's age budget
};

// A layer known to the store: one diff_id, one blob per compression.
struct LayerRecord {
  Digest diff_id;
  std::uint64_t uncompressed_size = 0;
  // compression ("gzip", "zstd", "none") -> {digest, size, media type}
  struct Blob {
    Digest digest;
    std::uint64_t size = 0;
    std::string media_type;
  };
  std::map<std::string, Blob> blobs;
};

// The content-addressed store. Layout (version 1):
//   VERSION                 "1"
//   blobs/sha256/<hex>      content, as in an OCI image layout
//   layers/<diff hex>.json  LayerRecord
//   cache/<key hex>.json    CacheEntry
//   records/<name>/<target>/<n>.json  build records (report module); each is
//                           a JSON object whose "blobs" array lists, as
//                           "sha256:<hex>" strings, every blob, layer diff_id
//                           and config the record needs. `prune` keeps all of
//                           them (and the layers they name).
//   unpacked/<diff hex>/    a layer unpacked in overlay lower form
//   unpacked/chain-<hex>/   the lowest layers of a stack flattened into one
//                           directory (see layer/mount_stack.hpp), with
//                           unpacked/chain-<hex>.json listing their diff_ids
//   mounts/<name>/          persistent cache mounts for run steps
//   tmp/                    temporary files, cleared of stale entries on open
//   lock                    flock(2) held shared by builds, exclusively by prune
// A store whose VERSION differs is moved aside to <dir>.v<old>.<time> with a
// warning and a new one is created.
class Store {
 public:
  // Opens (creating when missing) the store at `root` and takes a shared lock.
  static Store open(const fs::path& root);
  Store(Store&&) noexcept;
  ~Store();

  const fs::path& root() const;
  fs::path blob_path(const Digest& digest) const;
  bool has_blob(const Digest& digest) const;
  BlobWriter begin_blob();
  // Copies (or hardlinks, when on the same filesystem) `path` into the store.
  Digest ingest_file(const fs::path& path, const std::optional<Digest>& expected = std::nullopt);
  Digest put_bytes(std::string_view bytes);
  // Reads a blob and checks it against its digest; throws naming the digest
  // and path on a mismatch.
  std::string read_blob(const Digest& digest) const;
  // Hashes the blob file and throws on a mismatch (for export and unpack).
  void verify_blob(const Digest& digest) const;

  std::optional<LayerRecord> find_layer(const Digest& diff_id) const;
  void put_layer(const LayerRecord& record);

  std::optional<CacheEntry> find_cache(const std::string& key) const;
  void put_cache(const std::string& key, const CacheEntry& entry);

  fs::path tmp_dir() const;
  fs::path unpacked_dir(const Digest& diff_id) const;
  fs::path cache_mount_dir(const std::string& name) const;
  fs::path records_dir() const;
  fs::path layers_dir() const;
  fs::path cache_dir() const;

  // Converts the store lock to exclusive, polling until `timeout` (zero: one
  // try); throws when builds still hold it. Used by `prune`.
  void lock_exclusive(std::chrono::seconds timeout);
  // Converts the store lock back to shared.
  void lock_shared();

 private:
  struct State;
  explicit Store(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace imgbuild::store
