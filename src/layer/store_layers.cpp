// SPDX-License-Identifier: Apache-2.0
// Layer operations on the store: importing blobs and caching unpacked layers.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <unistd.h>

#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/userns.hpp"
#include "layer/store_layers.hpp"

namespace imgbuild::layer {
namespace {

std::atomic<std::uint64_t> unpack_counter{0};

// Picks the blob that is cheapest to read: plain, then zstd, then gzip.
std::pair<Digest, fs::path> readable_blob(store::Store& store, const Digest& diff_id) {
  auto record = store.find_layer(diff_id);
  if (!record) fail("layer ", diff_id.str(), " is not in the store ", store.root(), "; pull or build the image again");
  for (const char* compression : {"none", "zstd", "gzip"}) {
    auto blob = record->blobs.find(compression);
    if (blob != record->blobs.end() && store.has_blob(blob->second.digest))
      return {blob->second.digest, store.blob_path(blob->second.digest)};
  }
  fail("layer ", diff_id.str(), " has no blob left in the store ", store.root(), "; pull or build the image again");
}

}  // namespace

fs::path unpack_temp_dir(store::Store& store) {
  // The PID prefix lets Store::open remove directories of dead processes.
  fs::path temp = store.unpacked_dir(Digest{}).parent_path() / cat(".tmp-", ::getpid(), ".", unpack_counter.fetch_add(1));
  fs::create_directories(temp);
  return temp;
}

void publish_dir(const fs::path& temp, const fs::path& target) {
  if (::rename(temp.c_str(), target.c_str()) == 0) {
    fsync_directory(target.parent_path());
    return;
  }
  int saved = errno;
  remove_tree(temp);
  // Another process unpacked the same content first; its copy is as good.
  if (saved == EEXIST || saved == ENOTEMPTY) return;
  fail_errno(cat("cannot rename ", temp, " to ", target), saved);
}

fs::path ensure_unpacked(store::Store& store, const Digest& diff_id) {
  fs::path target = store.unpacked_dir(diff_id);
  if (fs::exists(target)) return target;

  auto [digest, blob] = readable_blob(store, diff_id);
  fs::path temp = unpack_temp_dir(store);
  try {
    ReadOptions options{digest, diff_id, diff_id.str()};
    unpack_overlay_lower(blob, temp, options, host_root() ? OpaqueXattr::trusted : OpaqueXattr::user);
  } catch (...) {
    remove_tree(temp);
    throw;
  }
  publish_dir(temp, target);
  return target;
}

void unpack_layers_flat(store::Store& store, const std::vector<Digest>& diff_ids, const fs::path& root) {
  for (const Digest& diff_id : diff_ids) {
    auto [digest, blob] = readable_blob(store, diff_id);
    unpack_flat(blob, root, ReadOptions{digest, diff_id, diff_id.str()});
  }
}

LayerResult import_layer_blob(store::Store& store, const Digest& digest, const std::optional<Digest>& expected_diff_id) {
  fs::path blob = store.blob_path(digest);
  if (!store.has_blob(digest)) fail("blob ", digest.str(), " not found at ", blob, "; pull it first");

  ReadResult read = for_each_entry(blob, [](const Entry&, ContentReader&) {}, ReadOptions{digest, expected_diff_id, digest.str()});

  LayerResult result;
  result.diff_id = read.diff_id;
  result.digest = digest;
  result.size = fs::file_size(blob);
  result.uncompressed_size = read.uncompressed_size;
  result.compression = read.compression;
  result.media_type = std::string(media_type(read.compression));
  result.entries = read.entries;

  store::LayerRecord record{result.diff_id, result.uncompressed_size, {}};
  record.blobs[std::string(compression_name(result.compression))] = {result.digest, result.size, result.media_type};
  store.put_layer(record);
  return result;
}

LayerResult import_layer_blob(store::Store& store, const fs::path& blob, const std::optional<Digest>& expected_digest,
                              const std::optional<Digest>& expected_diff_id) {
  Digest digest = store.ingest_file(blob, expected_digest);
  return import_layer_blob(store, digest, expected_diff_id);
}

}  // namespace imgbuild::layer
