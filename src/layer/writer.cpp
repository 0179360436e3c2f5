// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/writer.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgbuild/layer/order.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/archive_handle.hpp"
#include "layer/compress.hpp"

namespace imgbuild::layer {
namespace {

// The tar stream's sink: hashes it (the diff_id), counts it and passes it
// to the compressor.
struct TarSink {
  Compressor* compressor = nullptr;
  Sha256 hash;
  std::uint64_t size = 0;
  std::exception_ptr error;
};

la_ssize_t write_callback(archive*, void* data, const void* buffer, size_t length) {
  auto* sink = static_cast<TarSink*>(data);
  try {
    sink->hash.update(buffer, length);
    sink->compressor->write(static_cast<const char*>(buffer), length);
    sink->size += length;
  } catch (...) {
    sink->error = std::current_exception();
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

unsigned file_type_bits(EntryType type) {
  switch (type) {
    case EntryType::regular:
    case EntryType::hardlink:
      return AE_IFREG;
    case EntryType::directory:
      return AE_IFDIR;
    case EntryType::symlink:
      return AE_IFLNK;
    case EntryType::char_device:
      return AE_IFCHR;
    case EntryType::block_device:
      return AE_IFBLK;
    case EntryType::fifo:
      return AE_IFIFO;
  }
  return AE_IFREG;
}

void fill_header(archive_entry* header, const Entry& entry, std::int64_t epoch) {
  archive_entry_set_pathname(header, entry.path.c_str());
  archive_entry_set_filetype(header, file_type_bits(entry.type));
  archive_entry_set_perm(header, entry.mode & 07777);
  archive_entry_set_uid(header, entry.uid);
  archive_entry_set_gid(header, entry.gid);
  archive_entry_set_mtime(header, std::min(entry.mtime, epoch), 0);
  archive_entry_set_size(header, entry.type == EntryType::regular ? static_cast<la_int64_t>(entry.size) : 0);

  if (entry.type == EntryType::symlink) archive_entry_set_symlink(header, entry.link_target.c_str());
  if (entry.type == EntryType::hardlink) archive_entry_set_hardlink(header, entry.link_target.c_str());
  if (entry.type == EntryType::char_device || entry.type == EntryType::block_device) {
    archive_entry_set_rdevmajor(header, entry.dev_major);
    archive_entry_set_rdevminor(header, entry.dev_minor);
  }
  for (const auto& [name, value] : entry.xattrs)
    archive_entry_xattr_add_entry(header, name.c_str(), value.data(), value.size());
}

class TarWriter {
 public:
  TarWriter(TarSink& sink) : sink_(sink) {
    archive* handle = writer_.get();
    if (archive_write_set_format_pax_restricted(handle) != ARCHIVE_OK ||
        archive_write_set_options(handle, "xattrheader=SCHILY") != ARCHIVE_OK ||
        archive_write_add_filter_none(handle) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(handle, 0) != ARCHIVE_OK)
      fail_archive(handle, "cannot set up the tar writer");
    if (archive_write_open(handle, &sink_, nullptr, write_callback, nullptr) != ARCHIVE_OK) check(ARCHIVE_FATAL, "opening the tar stream");
    zeros_.resize(chunk_size);
  }

  void add(const Entry& entry, std::int64_t epoch) {
    ArchiveEntry header;
    fill_header(header.get(), entry, epoch);
    check(archive_write_header(writer_.get(), header.get()), cat("writing the header of ", quote(entry.path)));
    if (entry.type != EntryType::regular || entry.size == 0) return;
    if (entry.content) {
      if (entry.content->size() != entry.size)
        fail("layer entry ", quote(entry.path), " has size ", entry.size, " but ", entry.content->size(), " bytes of content");
      write_data(entry.content->data(), entry.content->size(), entry.path);
    } else {
      write_file(entry);
    }
  }

  void close() { check(archive_write_close(writer_.get()), "finishing the tar stream"); }

 private:
  void check(int status, std::string_view what) {
    if (sink_.error) std::rethrow_exception(sink_.error);
    if (status < ARCHIVE_WARN) fail_archive(writer_.get(), what);
  }

  void write_data(const char* data, std::size_t size, const std::string& path) {
    while (size > 0) {
      la_ssize_t written = archive_write_data(writer_.get(), data, size);
      if (written <= 0) check(ARCHIVE_FATAL, cat("writing the content of ", quote(path)));
      data += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  void write_zeros(std::uint64_t count, const std::string& path) {
    while (count > 0) {
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(count, zeros_.size()));
      write_data(zeros_.data(), take, path);
      count -= take;
    }
  }

  // Reads `entry.source`, skipping holes with SEEK_DATA/SEEK_HOLE and
  // writing them as zeros, so a huge sparse file costs no disk reads.
  void write_file(const Entry& entry) {
    UniqueFd fd = open_file(entry.source, O_RDONLY | O_NOFOLLOW);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) fail_errno(cat("cannot stat ", entry.source));
    if (static_cast<std::uint64_t>(info.st_size) != entry.size)
      fail("file ", entry.source, " changed size (", entry.size, " -> ", info.st_size,
           " bytes) while the layer was written; rebuild when nothing writes to it");

    // A file with as many allocated bytes as its size has no holes worth
    // seeking past, so it skips the two lseek calls per file. Holes among
    // preallocated blocks are then read as zeros, which gives the same tar.
    if (static_cast<std::uint64_t>(info.st_blocks) * 512 >= entry.size) {
      copy_range(fd.get(), 0, entry.size, entry);
      return;
    }

    std::uint64_t position = 0;
    while (position < entry.size) {
      off_t data = ::lseek(fd.get(), static_cast<off_t>(position), SEEK_DATA);
      if (data < 0 && errno == ENXIO) data = static_cast<off_t>(entry.size);
      if (data < 0) data = static_cast<off_t>(position);  // no SEEK_DATA support: read everything
      write_zeros(static_cast<std::uint64_t>(data) - position, entry.path);
      position = static_cast<std::uint64_t>(data);
      if (position >= entry.size) break;

      off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
      std::uint64_t end = hole < 0 ? entry.size : std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), entry.size);
      copy_range(fd.get(), position, end, entry);
      position = end;
    }
  }

  void copy_range(int fd, std::uint64_t begin, std::uint64_t end, const Entry& entry) {
    if (buffer_.empty()) buffer_.resize(chunk_size);
    while (begin < end) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(end - begin, buffer_.size()));
      ssize_t n = ::pread(fd, buffer_.data(), want, static_cast<off_t>(begin));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno(cat("cannot read ", entry.source));
      if (n == 0) fail("file ", entry.source, " shrank while the layer was written; rebuild when nothing writes to it");
      write_data(buffer_.data(), static_cast<std::size_t>(n), entry.path);
      begin += static_cast<std::uint64_t>(n);
    }
  }

  ArchiveWriter writer_;
  TarSink& sink_;
  std::vector<char> zeros_;
  std::vector<char> buffer_;
};

}  // namespace

std::string_view compression_name(Compression compression) {
  switch (compression) {
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
    case Compression::none:
      break;
  }
  return "none";
}

Compression parse_compression(std::string_view text) {
  if (text == "gzip") return Compression::gzip;
  if (text == "zstd") return Compression::zstd;
  if (text == "none") return Compression::none;
  fail_with(ExitCode::usage, "invalid compression ", quote(text), ": expected 'gzip', 'zstd' or 'none'");
}

std::string_view media_type(Compression compression) {
  switch (compression) {
    case Compression::gzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::zstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case Compression::none:
      break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

LayerResult write_layer(std::vector<Entry> entries, const WriteOptions& options, store::Store& store) {
  sort_entries(entries);

  Utf8Locale locale;
  store::BlobWriter blob = store.begin_blob();
  std::unique_ptr<Compressor> compressor = make_compressor(options.compression, options.threads, blob);
  TarSink sink;
  sink.compressor = compressor.get();
  {
    TarWriter tar(sink);
    for (const Entry& entry : entries) tar.add(entry, options.epoch);
    tar.close();
  }
  compressor->finish();

  LayerResult result;
  result.diff_id = sink.hash.finish();
  result.uncompressed_size = sink.size;
  result.size = blob.size();
  result.digest = blob.commit();
  result.compression = options.compression;
  result.media_type = std::string(media_type(options.compression));
  result.entries = entries.size();

  store::LayerRecord record{result.diff_id, result.uncompressed_size, {}};
  record.blobs[std::string(compression_name(options.compression))] = {result.digest, result.size, result.media_type};
  store.put_layer(record);
  return result;
}

}  // namespace imgbuild::layer
