// SPDX-License-Identifier: Apache-2.0
// Moving blobs between the store and image files on disk, checking every
// byte against its digest on the way.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/image/manifest.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::image::detail {

namespace fs = std::filesystem;

// A temporary file beside `target`, renamed over it on `commit` and removed
// otherwise, so a reader never sees a half-written file under its name.
class PendingFile {
 public:
  explicit PendingFile(const fs::path& target);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  const fs::path& temp() const { return temp_; }
  void commit();

 private:
  fs::path target_;
  fs::path temp_;
  bool committed_ = false;
};

// Places the store blob `descriptor` at `blobs_dir`/<hex>. An existing file
// that already has the right digest is left untouched (no rewrite, same
// inode). Otherwise the blob is hardlinked from the store after verifying it,
// or copied with its digest checked when linking is not possible.
void export_blob(const store::Store& store, const Descriptor& descriptor, const fs::path& blobs_dir);

// Places `bytes` at `blobs_dir`/<hex of digest>, unless a file with that
// content is already there.
void export_bytes(std::string_view bytes, const Digest& digest, const fs::path& blobs_dir);

// Reads a small file (a manifest, index or config), checks its digest and
// size when given, and stores it. Throws naming the digest and path.
std::string import_document(store::Store& store, const fs::path& file, const std::optional<Digest>& digest,
                            std::optional<std::int64_t> size = std::nullopt);

// The facts about a layer file found by reading it.
struct ImportedLayer {
  Descriptor blob;  // digest and size as read; media type from the compression found
  Digest diff_id;
  std::uint64_t uncompressed_size = 0;
  Compression compression = Compression::none;
};

// Imports a layer blob into the store in one pass: hashes the bytes as read
// (checking `expected_digest` when given), decompresses gzip or zstd to
// compute the diff_id, and checks it against `expected_diff_id`. Records
// the layer in the store's layer index. Throws naming the digest and path.
ImportedLayer import_layer(store::Store& store, const fs::path& file, const std::optional<Digest>& expected_digest,
                           const Digest& expected_diff_id);

// A layer file of an image being imported, with its manifest's descriptor data.
struct LayerSource {
  fs::path file;
  std::optional<Digest> digest;      // nothing when the file name does not carry it
  std::optional<std::int64_t> size;  // nothing when no descriptor gives it
  std::string media_type;            // empty: take the compression found in the file
};

// Imports an image whose config bytes are `config_bytes` (already stored)
// and whose layers are `layers`, base first. Layers the store already
// contains under the same blob digest are not read again.
Image import_image(store::Store& store, const std::string& config_bytes, const std::vector<LayerSource>& layers,
                   const fs::path& origin);

// True when `path` is a regular file whose content has `digest`.
bool same_digest_file(const fs::path& path, const Digest& digest);

}  // namespace imgbuild::image::detail
