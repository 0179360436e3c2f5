// SPDX-License-Identifier: Apache-2.0
#include "layer/reader.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/archive_handle.hpp"
#include "layer/compress.hpp"

namespace imgbuild::layer {

// Two libarchive readers in a row: `raw` only decompresses (format "raw"),
// and `tar` parses what `raw` yields. Hashing between them gives the
// diff_id of exactly the bytes given to the tar parser, plus any trailer.
struct TarReader::State {
  Utf8Locale locale;
  UniqueFd fd;
  Compression compression = Compression::none;
  Sha256 blob_hash;
  Sha256 tar_hash;
  std::uint64_t tar_size = 0;
  std::size_t entries = 0;
  std::vector<char> file_buffer = std::vector<char>(chunk_size);
  std::vector<char> tar_buffer = std::vector<char>(chunk_size);
  bool raw_done = false;
  ArchiveReader raw;
  ArchiveReader tar;
};

namespace {

la_ssize_t read_blob(archive* handle, void* data, const void** buffer) {
  auto* state = static_cast<TarReader::State*>(data);
  while (true) {
    ssize_t n = ::read(state->fd.get(), state->file_buffer.data(), state->file_buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(handle, errno, "cannot read the blob file");
      return -1;
    }
    state->blob_hash.update(state->file_buffer.data(), static_cast<std::size_t>(n));
    *buffer = state->file_buffer.data();
    return n;
  }
}

la_ssize_t read_decompressed(archive* handle, void* data, const void** buffer) {
  auto* state = static_cast<TarReader::State*>(data);
  if (state->raw_done) return 0;
  la_ssize_t n = archive_read_data(state->raw.get(), state->tar_buffer.data(), state->tar_buffer.size());
  if (n < 0) {
    const char* message = archive_error_string(state->raw.get());
    archive_set_error(handle, EIO, "decompression failed: %s", message ? message : "unknown error");
    return -1;
  }
  if (n == 0) state->raw_done = true;
  state->tar_hash.update(state->tar_buffer.data(), static_cast<std::size_t>(n));
  state->tar_size += static_cast<std::uint64_t>(n);
  *buffer = state->tar_buffer.data();
  return n;
}

EntryType entry_type(archive_entry* header, const std::string& layer, const std::string& path) {
  if (archive_entry_hardlink(header) != nullptr) return EntryType::hardlink;
  switch (archive_entry_filetype(header)) {
    case AE_IFREG:
      return EntryType::regular;
    case AE_IFDIR:
      return EntryType::directory;
    case AE_IFLNK:
      return EntryType::symlink;
    case AE_IFCHR:
      return EntryType::char_device;
    case AE_IFBLK:
      return EntryType::block_device;
    case AE_IFIFO:
      return EntryType::fifo;
    default:
      fail("layer ", layer, ": entry ", quote(path), " has an unsupported file type ",
           archive_entry_filetype(header));
  }
}

std::string header_path(archive_entry* header) {
  if (const char* name = archive_entry_pathname(header)) return name;
  if (const char* name = archive_entry_pathname_utf8(header)) return name;
  return {};
}

}  // namespace

std::string clean_entry_path(std::string_view name) {
  std::string out;
  for (const std::string& component : split(name, '/')) {
    if (component.empty() || component == ".") continue;
    if (!out.empty()) out += '/';
    out += component;
  }
  return out;
}

Compression sniff_compression(const fs::path& blob) {
  UniqueFd fd = open_file(blob, O_RDONLY);
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd.get(), magic, sizeof magic, 0);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::gzip;
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return Compression::zstd;
  return Compression::none;
}

TarReader::TarReader(const fs::path& blob, ReadOptions options)
    : state_(std::make_unique<State>()), options_(std::move(options)) {
  if (options_.layer_name.empty()) options_.layer_name = quote(blob.string());
  State& state = *state_;
  state.compression = sniff_compression(blob);
  state.fd = open_file(blob, O_RDONLY);

  archive* raw = state.raw.get();
  int status = archive_read_support_format_raw(raw);
  if (state.compression == Compression::gzip) status = std::min(status, archive_read_append_filter(raw, ARCHIVE_FILTER_GZIP));
  if (state.compression == Compression::zstd) status = std::min(status, archive_read_append_filter(raw, ARCHIVE_FILTER_ZSTD));
  if (status != ARCHIVE_OK) fail_archive(raw, cat("layer ", options_.layer_name, ": cannot set up decompression"));
  if (archive_read_open(raw, &state, nullptr, read_blob, nullptr) != ARCHIVE_OK)
    fail_archive(raw, cat("layer ", options_.layer_name, ": cannot read ", blob));

  archive_entry* ignored = nullptr;
  int header = archive_read_next_header(raw, &ignored);
  if (header == ARCHIVE_EOF) state.raw_done = true;
  else if (header < ARCHIVE_WARN) fail_archive(raw, cat("layer ", options_.layer_name, ": cannot decompress ", blob));

  archive* tar = state.tar.get();
  if (archive_read_support_format_tar(tar) != ARCHIVE_OK || archive_read_support_format_empty(tar) != ARCHIVE_OK ||
      archive_read_open(tar, &state, nullptr, read_decompressed, nullptr) != ARCHIVE_OK)
    fail_archive(tar, cat("layer ", options_.layer_name, ": cannot read the tar stream"));
}

TarReader::~TarReader() = default;

bool TarReader::next(Entry& entry) {
  archive_entry* header = nullptr;
  while (true) {
    int status = archive_read_next_header(state_->tar.get(), &header);
    if (status == ARCHIVE_EOF) return false;
    if (status < ARCHIVE_WARN) fail_archive(state_->tar.get(), cat("layer ", options_.layer_name, ": invalid tar stream"));

    std::string raw_path = header_path(header);
    if (archive_entry_filetype(header) == AE_IFSOCK && archive_entry_hardlink(header) == nullptr) {
      log::warn(cat("layer ", options_.layer_name, ": skipping socket ", quote(raw_path)));
      continue;
    }

    entry = Entry{};
    entry.path = clean_entry_path(raw_path);
    entry.type = entry_type(header, options_.layer_name, raw_path);
    entry.mode = archive_entry_perm(header) & 07777;
    entry.uid = static_cast<std::uint32_t>(archive_entry_uid(header));
    entry.gid = static_cast<std::uint32_t>(archive_entry_gid(header));
    entry.mtime = archive_entry_mtime(header);
    if (entry.type == EntryType::regular) entry.size = static_cast<std::uint64_t>(archive_entry_size(header));
    if (entry.type == EntryType::symlink) entry.link_target = archive_entry_symlink(header) ? archive_entry_symlink(header) : "";
    if (entry.type == EntryType::hardlink) entry.link_target = archive_entry_hardlink(header);
    entry.dev_major = archive_entry_rdevmajor(header);
    entry.dev_minor = archive_entry_rdevminor(header);

    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    archive_entry_xattr_reset(header);
    while (archive_entry_xattr_next(header, &name, &value, &size) == ARCHIVE_OK)
      entry.xattrs[name] = std::string(static_cast<const char*>(value), size);
    ++state_->entries;
    return true;
  }
}

std::size_t TarReader::read(void* buffer, std::size_t size) {
  la_ssize_t n = archive_read_data(state_->tar.get(), buffer, size);
  if (n < 0) fail_archive(state_->tar.get(), "cannot read the entry content");
  return static_cast<std::size_t>(n);
}

ReadResult TarReader::finish() {
  State& state = *state_;
  const void* ignored = nullptr;
  la_ssize_t n = 0;
  while ((n = read_decompressed(state.tar.get(), &state, &ignored)) > 0) {
  }
  if (n < 0) fail_archive(state.tar.get(), cat("layer ", options_.layer_name));
  // Bytes after the last compressed frame still belong to the blob digest.
  while ((n = read_blob(state.raw.get(), &state, &ignored)) > 0) {
  }
  if (n < 0) fail_errno(cat("layer ", options_.layer_name, ": cannot read the blob"));

  ReadResult result;
  result.diff_id = state.tar_hash.finish();
  result.blob_digest = state.blob_hash.finish();
  result.uncompressed_size = state.tar_size;
  result.compression = state.compression;
  result.entries = state.entries;

  if (options_.blob_digest && *options_.blob_digest != result.blob_digest)
    fail("layer ", options_.layer_name, ": the blob hashes to ", result.blob_digest.str(), " but ",
         options_.blob_digest->str(), " was expected; the blob is corrupt, remove it and pull or build again");
  if (options_.diff_id && *options_.diff_id != result.diff_id)
    fail("layer ", options_.layer_name, ": the uncompressed tar hashes to ", result.diff_id.str(), " (",
         result.uncompressed_size, " bytes) but its diff_id is ", options_.diff_id->str(), "; the layer is corrupt or truncated");
  return result;
}

std::string ContentReader::read_all(std::uint64_t limit) {
  std::string data;
  char buffer[65536];
  while (std::size_t n = read(buffer, sizeof buffer)) {
    if (data.size() + n > limit) fail("entry content exceeds the limit of ", limit, " bytes for reading into memory");
    data.append(buffer, n);
  }
  return data;
}

void run_checking_blob(const fs::path& blob, const ReadOptions& options, const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& error) {
    if (!options.blob_digest) throw;
    Digest actual = sha256_of_file(blob);
    if (actual == *options.blob_digest) throw;
    fail("layer ", options.layer_name.empty() ? quote(blob.string()) : options.layer_name, ": the blob hashes to ",
         actual.str(), " but ", options.blob_digest->str(), " was expected; the blob is corrupt, remove it and pull or build again (",
         error.what(), ")");
  }
}

ReadResult for_each_entry(const fs::path& blob, const std::function<void(const Entry&, ContentReader&)>& callback,
                          const ReadOptions& options) {
  ReadResult result;
  run_checking_blob(blob, options, [&] {
    TarReader reader(blob, options);
    Entry entry;
    while (reader.next(entry)) {
      with_context(cat("layer ", reader.layer_name(), ": entry ", quote(entry.path)), [&] { callback(entry, reader); });
    }
    result = reader.finish();
  });
  return result;
}

}  // namespace imgbuild::layer
