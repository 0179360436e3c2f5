// SPDX-License-Identifier: Apache-2.0
#include "base/rootfs_layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <algorithm>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "imgbuild/store/store.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"

namespace imgbuild::base {
namespace {

// TODO: switch to the layer module's scan_tree and write_layer once they
// exist; this writer leaves out xattrs.
struct ArchiveDeleter {
  void operator()(archive* handle) const { archive_write_free(handle); }
};
struct EntryDeleter {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

struct TarSink {
  UniqueFd fd;
  Sha256 hash;
  std::uint64_t size = 0;
};

la_ssize_t write_callback(archive*, void* data, const void* buffer, size_t length) {
  auto* sink = static_cast<TarSink*>(data);
  write_all(sink->fd.get(), std::string_view(static_cast<const char*>(buffer), length));
  sink->hash.update(buffer, length);
  sink->size += length;
  return static_cast<la_ssize_t>(length);
}

std::vector<fs::path> sorted_paths(const fs::path& root) {
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    paths.push_back(it->path().lexically_relative(root));
  std::sort(paths.begin(), paths.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  return paths;
}

void write_entry(archive* writer, const fs::path& root, const fs::path& relative, std::int64_t epoch,
                 std::map<std::pair<dev_t, ino_t>, std::string>& first_links) {
  fs::path full = root / relative;
  struct stat st{};
  if (::lstat(full.c_str(), &st) != 0) fail_errno(cat("lstat ", full));

  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  std::string name = relative.string();
  if (S_ISDIR(st.st_mode)) name += "/";
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_mode(entry.get(), st.st_mode);
  archive_entry_set_uid(entry.get(), st.st_uid);
  archive_entry_set_gid(entry.get(), st.st_gid);
  archive_entry_set_mtime(entry.get(), std::min<std::int64_t>(st.st_mtime, epoch), 0);

  bool copy_content = false;
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto [it, inserted] = first_links.emplace(std::make_pair(st.st_dev, st.st_ino), relative.string());
    if (!inserted) {
      archive_entry_set_hardlink(entry.get(), it->second.c_str());
      archive_entry_set_size(entry.get(), 0);
    } else {
      copy_content = true;
    }
  } else if (S_ISREG(st.st_mode)) {
    copy_content = true;
  }
  if (copy_content) archive_entry_set_size(entry.get(), st.st_size);
  if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(entry.get(), fs::read_symlink(full).c_str());
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(entry.get(), st.st_rdev);

  if (archive_write_header(writer, entry.get()) != ARCHIVE_OK)
    fail("writing tar header for ", full, ": ", archive_error_string(writer));
  if (!copy_content) return;

  UniqueFd fd = open_file(full, O_RDONLY);
  char buffer[1 << 16];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0) fail_errno(cat("read ", full));
    if (archive_write_data(writer, buffer, static_cast<size_t>(n)) < 0)
      fail("writing tar data for ", full, ": ", archive_error_string(writer));
  }
}

}  // namespace

image::Layer write_rootfs_layer(const fs::path& root, BaseContext& context) {
  TempDir work("rootfs-layer-", context.store.tmp_dir());
  TarSink sink{open_file(work / "layer.tar", O_WRONLY | O_CREAT | O_TRUNC, 0600), Sha256(), 0};

  std::unique_ptr<archive, ArchiveDeleter> writer(archive_write_new());
  archive_write_set_format_pax_restricted(writer.get());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open2(writer.get(), &sink, nullptr, write_callback, nullptr, nullptr) != ARCHIVE_OK)
    fail("opening tar writer: ", archive_error_string(writer.get()));
  std::map<std::pair<dev_t, ino_t>, std::string> first_links;
  for (const auto& relative : sorted_paths(root))
    write_entry(writer.get(), root, relative, context.source_date_epoch, first_links);
  if (archive_write_close(writer.get()) != ARCHIVE_OK)
    fail("closing tar writer: ", archive_error_string(writer.get()));
  sink.fd.reset();

  run_checked({"gzip", "-n", "-6", (work / "layer.tar").string()});
  Digest blob = context.store.ingest_file(work / "layer.tar.gz");

  image::Layer layer;
  layer.diff_id = sink.hash.finish();
  layer.uncompressed_size = sink.size;
  layer.blob = {image::media_type::oci_layer_gzip, blob,
                static_cast<std::int64_t>(fs::file_size(work / "layer.tar.gz")), {}, {}};
  store::LayerRecord record;
  record.diff_id = layer.diff_id;
  record.uncompressed_size = layer.uncompressed_size;
  record.blobs["gzip"] = {blob, static_cast<std::uint64_t>(layer.blob.size), layer.blob.media_type};
  context.store.put_layer(record);
  return layer;
}

}  // namespace imgbuild::base
