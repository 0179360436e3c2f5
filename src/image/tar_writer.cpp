// SPDX-License-Identifier: Apache-2.0
#include "image/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image::detail {

namespace {

struct EntryDeleter {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};
using EntryHandle = std::unique_ptr<archive_entry, EntryDeleter>;

EntryHandle fixed_entry(std::string_view name, mode_t type, mode_t permissions, std::int64_t size) {
  EntryHandle entry(archive_entry_new());
  if (!entry) fail("libarchive: out of memory creating a tar entry");
  archive_entry_copy_pathname(entry.get(), std::string(name).c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), permissions);
  archive_entry_set_size(entry.get(), size);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  return entry;
}

}  // namespace

struct TarWriter::State {
  archive* handle = nullptr;
  std::filesystem::path file;
  bool finished = false;

  ~State() {
    if (handle) archive_write_free(handle);
  }

  [[noreturn]] void fail_archive(std::string_view what) const {
    fail("writing ", quote(file.string()), ": ", what, ": ", archive_error_string(handle));
  }

  void write_header(const EntryHandle& entry) {
    if (archive_write_header(handle, entry.get()) != ARCHIVE_OK) fail_archive("tar header");
  }

  void write_data(const void* data, std::size_t size) {
    if (size == 0) return;
    la_ssize_t written = archive_write_data(handle, data, size);
    if (written < 0 || static_cast<std::size_t>(written) != size) fail_archive("tar data");
  }
};

TarWriter::TarWriter(const std::filesystem::path& file) : state_(std::make_unique<State>()) {
  state_->file = file;
  state_->handle = archive_write_new();
  if (!state_->handle) fail("libarchive: out of memory creating a tar writer");
  // Restricted pax writes plain ustar headers and adds pax records only for
  // what ustar cannot hold (long names, sizes over 8 GiB), so small archives
  // read the same in every tar implementation.
  if (archive_write_set_format_pax_restricted(state_->handle) != ARCHIVE_OK) state_->fail_archive("tar format");
  if (archive_write_add_filter_none(state_->handle) != ARCHIVE_OK) state_->fail_archive("tar filter");
  if (archive_write_open_filename(state_->handle, file.c_str()) != ARCHIVE_OK) state_->fail_archive("open");
}

TarWriter::~TarWriter() = default;

void TarWriter::add_directory(std::string_view name) {
  state_->write_header(fixed_entry(name, AE_IFDIR, 0755, 0));
}

void TarWriter::add_bytes(std::string_view name, std::string_view bytes) {
  state_->write_header(fixed_entry(name, AE_IFREG, 0644, static_cast<std::int64_t>(bytes.size())));
  state_->write_data(bytes.data(), bytes.size());
}

void TarWriter::add_blob(std::string_view name, const store::Store& store, const Digest& digest, std::int64_t size) {
  std::filesystem::path path = store.blob_path(digest);
  UniqueFd fd = open_file(path, O_RDONLY | O_CLOEXEC);
  state_->write_header(fixed_entry(name, AE_IFREG, 0644, size));

  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  std::int64_t total = 0;
  while (true) {
    ssize_t count = ::read(fd.get(), buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      fail_errno(cat("reading blob ", quote(path.string())));
    }
    if (count == 0) break;
    total += count;
    if (total > size)
      fail("blob ", digest.str(), " at ", quote(path.string()), " is larger than its descriptor size ", size,
           ": the store is corrupt; remove the blob and build again");
    hash.update(buffer.data(), static_cast<std::size_t>(count));
    state_->write_data(buffer.data(), static_cast<std::size_t>(count));
  }

  Digest actual = hash.finish();
  if (total != size || actual != digest)
    fail("blob ", digest.str(), " at ", quote(path.string()), " has digest ", actual.str(), " and size ", total,
         " (expected size ", size, "): the store is corrupt; remove the blob and build again");
}

void TarWriter::finish() {
  if (state_->finished) return;
  if (archive_write_close(state_->handle) != ARCHIVE_OK) state_->fail_archive("close");
  state_->finished = true;
}

}  // namespace imgbuild::image::detail
