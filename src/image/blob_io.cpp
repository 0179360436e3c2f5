// SPDX-License-Identifier: Apache-2.0
#include "image/blob_io.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "image/read_archive.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image::detail {

namespace {

constexpr std::size_t buffer_size = 1 << 20;

// Reads `fd` into `buffer`, retrying EINTR; returns 0 at end of file.
std::size_t read_some(int fd, std::vector<char>& buffer, const fs::path& path) {
  while (true) {
    ssize_t count = ::read(fd, buffer.data(), buffer.size());
    if (count >= 0) return static_cast<std::size_t>(count);
    if (errno != EINTR) fail_errno(cat("reading ", quote(path.string())));
  }
}

[[noreturn]] void fail_digest(const Digest& expected, const fs::path& path, const Digest& actual) {
  fail("blob ", expected.str(), " at ", quote(path.string()), " has digest ", actual.str(),
       ": the file is corrupt or was changed; fetch or export the image again");
}

void copy_verified(const fs::path& source, const Digest& digest, const fs::path& target) {
  UniqueFd in = open_file(source, O_RDONLY | O_CLOEXEC);
  UniqueFd out = open_file(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Sha256 hash;
  std::vector<char> buffer(buffer_size);
  while (std::size_t count = read_some(in.get(), buffer, source)) {
    hash.update(buffer.data(), count);
    write_all(out.get(), std::string_view(buffer.data(), count));
  }
  Digest actual = hash.finish();
  if (actual != digest) fail_digest(digest, source, actual);
  if (::fsync(out.get()) != 0) fail_errno(cat("fsync ", quote(target.string())));
}

// Feeds a file to libarchive while hashing every byte and writing it into a
// store blob: one read of the file gives the blob digest, the stored copy
// and the decompressed stream.
struct LayerFeed {
  int fd = -1;
  const fs::path* path = nullptr;
  store::BlobWriter* writer = nullptr;
  Sha256 hash;
  std::uint64_t size = 0;
  std::vector<char> buffer = std::vector<char>(buffer_size);
  std::string error;

  std::size_t pull() {
    std::size_t count = read_some(fd, buffer, *path);
    hash.update(buffer.data(), count);
    writer->write(buffer.data(), count);
    size += count;
    return count;
  }
};

la_ssize_t feed_read(archive*, void* data, const void** block) {
  auto* feed = static_cast<LayerFeed*>(data);
  try {
    std::size_t count = feed->pull();
    *block = feed->buffer.data();
    return static_cast<la_ssize_t>(count);
  } catch (const std::exception& error) {
    feed->error = error.what();
    return -1;
  }
}

Compression compression_of(archive* handle) {
  switch (archive_filter_code(handle, 0)) {
    case ARCHIVE_FILTER_GZIP: return Compression::gzip;
    case ARCHIVE_FILTER_ZSTD: return Compression::zstd;
    default: return Compression::none;
  }
}

// Decompresses the feed and returns the sha256 and size of the plain tar.
std::pair<Digest, std::uint64_t> hash_decompressed(LayerFeed& feed, Compression& compression) {
  ReadArchive reader;
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_zstd(reader.get());
  archive_read_support_format_raw(reader.get());
  auto fail_archive = [&](std::string_view what) {
    std::string detail = feed.error;
    if (detail.empty()) {
      const char* library_error = archive_error_string(reader.get());
      detail = library_error ? library_error : "unknown error";
    }
    fail(what, " layer ", quote(feed.path->string()), ": ", detail);
  };
  if (archive_read_open(reader.get(), &feed, nullptr, feed_read, nullptr) != ARCHIVE_OK) fail_archive("opening");

  Sha256 plain;
  std::uint64_t plain_size = 0;
  archive_entry* entry = nullptr;
  int status = archive_read_next_header(reader.get(), &entry);
  if (status == ARCHIVE_OK) {
    std::vector<char> out(buffer_size);
    while (true) {
      la_ssize_t count = archive_read_data(reader.get(), out.data(), out.size());
      if (count < 0) fail_archive("decompressing");
      if (count == 0) break;
      plain.update(out.data(), static_cast<std::size_t>(count));
      plain_size += static_cast<std::uint64_t>(count);
    }
  } else if (status != ARCHIVE_EOF) {
    fail_archive("reading");
  }
  compression = compression_of(reader.get());

  // libarchive may stop at the end of the compressed stream; hash whatever
  // trails it too, because the blob digest covers the whole file.
  while (feed.pull() != 0) {
  }
  return {plain.finish(), plain_size};
}

void record_layer(store::Store& store, const ImportedLayer& layer) {
  store::LayerRecord record;
  if (auto existing = store.find_layer(layer.diff_id)) record = *existing;
  record.diff_id = layer.diff_id;
  record.uncompressed_size = layer.uncompressed_size;
  record.blobs[std::string(compression_name(layer.compression))] = {
      layer.blob.digest, static_cast<std::uint64_t>(layer.blob.size), layer.blob.media_type};
  store.put_layer(record);
}

}  // namespace

// The process id and a counter keep temporary names apart between processes
// and between threads of one process writing into the same directory.
PendingFile::PendingFile(const fs::path& target) : target_(target) {
  static std::atomic<std::uint64_t> counter{0};
  temp_ = target.parent_path() / cat(".tmp-", target.filename().string(), "-", ::getpid(), "-", counter++);
}

PendingFile::~PendingFile() {
  if (!committed_) ::unlink(temp_.c_str());
}

void PendingFile::commit() {
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail_errno(cat("renaming to ", quote(target_.string())));
  committed_ = true;
}

bool same_digest_file(const fs::path& path, const Digest& digest) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return sha256_of_file(path) == digest;
}

void export_blob(const store::Store& store, const Descriptor& descriptor, const fs::path& blobs_dir) {
  fs::path target = blobs_dir / descriptor.digest.hex;
  fs::path source = store.blob_path(descriptor.digest);
  // A hardlink to the store's blob already contains the verified content.
  struct stat in_store{}, exported{};
  if (::stat(source.c_str(), &in_store) == 0 && ::stat(target.c_str(), &exported) == 0 &&
      in_store.st_dev == exported.st_dev && in_store.st_ino == exported.st_ino)
    return;
  if (same_digest_file(target, descriptor.digest)) return;

  PendingFile pending(target);
  store.verify_blob(descriptor.digest);
  if (::link(source.c_str(), pending.temp().c_str()) != 0) {
    // EXDEV (another filesystem) or EPERM (protected hardlinks): copy.
    copy_verified(source, descriptor.digest, pending.temp());
  }
  pending.commit();
}

void export_bytes(std::string_view bytes, const Digest& digest, const fs::path& blobs_dir) {
  fs::path target = blobs_dir / digest.hex;
  if (same_digest_file(target, digest)) return;
  PendingFile pending(target);
  {
    UniqueFd out = open_file(pending.temp(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    write_all(out.get(), bytes);
    if (::fsync(out.get()) != 0) fail_errno(cat("fsync ", quote(pending.temp().string())));
  }
  pending.commit();
}

std::string import_document(store::Store& store, const fs::path& file, const std::optional<Digest>& digest,
                            std::optional<std::int64_t> size) {
  std::string bytes = read_file(file);
  Digest actual = sha256_of(bytes);
  if (digest && actual != *digest) fail_digest(*digest, file, actual);
  if (size && static_cast<std::int64_t>(bytes.size()) != *size)
    fail("blob ", actual.str(), " at ", quote(file.string()), " is ", bytes.size(), " bytes but its descriptor says ",
         *size, ": the image is corrupt; fetch or export it again");
  store.put_bytes(bytes);
  return bytes;
}

ImportedLayer import_layer(store::Store& store, const fs::path& file, const std::optional<Digest>& expected_digest,
                           const Digest& expected_diff_id) {
  UniqueFd fd = open_file(file, O_RDONLY | O_CLOEXEC);
  store::BlobWriter writer = store.begin_blob();
  LayerFeed feed;
  feed.fd = fd.get();
  feed.path = &file;
  feed.writer = &writer;

  ImportedLayer layer;
  auto [diff_id, plain_size] = hash_decompressed(feed, layer.compression);
  Digest digest = feed.hash.finish();
  if (expected_digest && digest != *expected_digest) fail_digest(*expected_digest, file, digest);
  if (diff_id != expected_diff_id)
    fail("layer ", digest.str(), " at ", quote(file.string()), " has diff_id ", diff_id.str(),
         " but the image config lists ", expected_diff_id.str(), ": the image is corrupt; fetch or export it again");
  writer.commit(digest);

  layer.blob.digest = digest;
  layer.blob.size = static_cast<std::int64_t>(feed.size);
  layer.blob.media_type = layer_media_type(layer.compression, Format::oci);
  layer.diff_id = diff_id;
  layer.uncompressed_size = plain_size;
  record_layer(store, layer);
  return layer;
}

namespace {

// Returns the layer from the store when the store already contains
// `source`'s blob for `diff_id`, so importing the same base twice reads nothing.
std::optional<Layer> stored_layer(const store::Store& store, const LayerSource& source, const Digest& diff_id) {
  if (!source.digest) return std::nullopt;
  auto record = store.find_layer(diff_id);
  if (!record) return std::nullopt;
  for (const auto& [compression, blob] : record->blobs) {
    if (blob.digest != *source.digest || !store.has_blob(blob.digest)) continue;
    Layer layer;
    layer.blob.digest = blob.digest;
    layer.blob.size = static_cast<std::int64_t>(blob.size);
    layer.blob.media_type = blob.media_type;
    layer.diff_id = diff_id;
    layer.uncompressed_size = record->uncompressed_size;
    return layer;
  }
  return std::nullopt;
}

Layer import_one_layer(store::Store& store, const LayerSource& source, const Digest& diff_id) {
  if (auto layer = stored_layer(store, source, diff_id)) return *layer;

  ImportedLayer imported = import_layer(store, source.file, source.digest, diff_id);
  if (source.size && *source.size != imported.blob.size)
    fail("layer ", imported.blob.digest.str(), " at ", quote(source.file.string()), " is ", imported.blob.size,
         " bytes but its descriptor says ", *source.size, ": the image is corrupt; fetch or export it again");
  if (!source.media_type.empty() && layer_compression(source.media_type) != imported.compression)
    fail("layer ", imported.blob.digest.str(), " at ", quote(source.file.string()), " is declared as ",
         quote(source.media_type), " but its content is ", compression_name(imported.compression),
         "-compressed: the image is corrupt");

  Layer layer;
  layer.blob = imported.blob;
  layer.diff_id = imported.diff_id;
  layer.uncompressed_size = imported.uncompressed_size;
  return layer;
}

}  // namespace

Image import_image(store::Store& store, const std::string& config_bytes, const std::vector<LayerSource>& layers,
                   const fs::path& origin) {
  Image image;
  try {
    image.config = nlohmann::json::parse(config_bytes);
  } catch (const nlohmann::json::exception& error) {
    fail("image config in ", quote(origin.string()), " is not valid JSON: ", error.what());
  }
  const auto& rootfs = image.config.contains("rootfs") ? image.config["rootfs"] : nlohmann::json();
  if (!rootfs.is_object() || !rootfs.contains("diff_ids") || !rootfs["diff_ids"].is_array())
    fail("image config in ", quote(origin.string()), " has no rootfs.diff_ids");
  const auto& diff_ids = rootfs["diff_ids"];
  if (diff_ids.size() != layers.size())
    fail("image in ", quote(origin.string()), " has ", layers.size(), " layers but its config lists ", diff_ids.size(),
         " diff_ids: the image is corrupt");

  for (std::size_t i = 0; i < layers.size(); ++i) {
    Digest diff_id = Digest::parse(diff_ids[i].is_string() ? diff_ids[i].get<std::string>() : diff_ids[i].dump());
    image.layers.push_back(import_one_layer(store, layers[i], diff_id));
  }
  return image;
}

}  // namespace imgbuild::image::detail
