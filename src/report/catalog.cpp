// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/catalog.hpp"

#include <archive.h>
#include <archive_entry.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/merged_tree.hpp"

namespace imgbuild::report {

namespace {

// Catalogued files larger than this are skipped with a warning: no real
// status, METADATA or RECORD file comes near it.
constexpr std::uint64_t max_catalogued_file = 256ull << 20;

// An archive opened for reading, freed on destruction.
class ArchiveReader {
 public:
  explicit ArchiveReader(const fs::path& path) : path_(path), archive_(archive_read_new()) {
    if (archive_ == nullptr) fail("out of memory opening ", quote(path.string()));
    archive_read_support_filter_all(archive_);
    archive_read_support_format_tar(archive_);
    archive_read_support_format_gnutar(archive_);
    if (archive_read_open_filename(archive_, path.c_str(), 1 << 20) != ARCHIVE_OK)
      fail_here("cannot open layer");
  }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  ~ArchiveReader() { archive_read_free(archive_); }

  // Returns the next entry, or nullptr at the end of the archive.
  archive_entry* next() {
    archive_entry* entry = nullptr;
    int status = archive_read_next_header(archive_, &entry);
    if (status == ARCHIVE_EOF) return nullptr;
    if (status < ARCHIVE_WARN) fail_here("cannot read layer");
    return entry;
  }

  std::string read_data(std::uint64_t size) {
    std::string data(size, '\0');
    la_ssize_t got = archive_read_data(archive_, data.data(), data.size());
    if (got < 0) fail_here("cannot read layer entry");
    data.resize(static_cast<std::size_t>(got));
    return data;
  }

  // Bytes of uncompressed tar consumed so far.
  std::uint64_t tar_bytes() const { return static_cast<std::uint64_t>(archive_filter_bytes(archive_, 0)); }

 private:
  [[noreturn]] void fail_here(std::string_view what) {
    fail(what, " ", quote(path_.string()), ": ", archive_error_string(archive_),
         "; check that the blob is an uncorrupted tar, tar+gzip or tar+zstd");
  }

  fs::path path_;
  archive* archive_;
};

// Turns a tar member name into an absolute path: "./usr/bin/" -> "/usr/bin".
std::string absolute_path(std::string_view name) {
  while (starts_with(name, "./")) name.remove_prefix(2);
  while (starts_with(name, "/")) name.remove_prefix(1);
  while (ends_with(name, "/")) name.remove_suffix(1);
  if (name == ".") return "/";
  return "/" + std::string(name);
}

FileKind kind_of(archive_entry* entry) {
  if (archive_entry_hardlink(entry) != nullptr) return FileKind::hardlink;
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return FileKind::regular;
    case AE_IFDIR: return FileKind::directory;
    case AE_IFLNK: return FileKind::symlink;
    default: return FileKind::other;
  }
}

std::string read_if_small(ArchiveReader& reader, const std::string& path, std::uint64_t size) {
  if (size > max_catalogued_file) {
    log::warn(cat("not cataloguing ", quote(path), ": ", human_bytes(size), " is too large"));
    return {};
  }
  return reader.read_data(size);
}

void add_entry(detail::MergedTree& tree, ArchiveReader& reader, archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (name == nullptr) return;
  std::string path = absolute_path(name);
  if (path == "/") return;

  std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);
  std::string parent = path.substr(0, path.rfind('/'));
  if (parent.empty()) parent = "/";
  if (base == ".wh..wh..opq") return tree.opaque(parent);
  // Other ".wh..wh." names are AUFS bookkeeping, not whiteouts.
  if (starts_with(base, ".wh..wh.")) return;
  if (starts_with(base, ".wh."))
    return tree.whiteout((parent == "/" ? "" : parent) + "/" + std::string(base.substr(4)));

  FileKind kind = kind_of(entry);
  std::uint64_t size = static_cast<std::uint64_t>(archive_entry_size(entry));
  std::string target = kind == FileKind::hardlink ? absolute_path(archive_entry_hardlink(entry)) : "";
  tree.add(path, kind, size, target, [&] { return read_if_small(reader, path, size); });
}

}  // namespace

Filesystem read_layers(std::span<const fs::path> blobs) {
  detail::MergedTree tree;
  std::vector<std::uint64_t> tar_sizes;
  for (std::size_t index = 0; index < blobs.size(); ++index) {
    tree.begin_layer(static_cast<int>(index));
    ArchiveReader reader(blobs[index]);
    while (archive_entry* entry = reader.next()) add_entry(tree, reader, entry);
    tree.end_layer();
    tar_sizes.push_back(reader.tar_bytes());
  }

  Filesystem result = tree.finish();
  result.layer_tar_sizes = std::move(tar_sizes);
  return result;
}

namespace {

void add_rootfs_entry(detail::MergedTree& tree, const fs::directory_entry& entry, const fs::path& root) {
  std::string path = "/" + entry.path().lexically_relative(root).generic_string();
  fs::file_status status = entry.symlink_status();
  FileKind kind = FileKind::other;
  std::uint64_t size = 0;
  if (fs::is_regular_file(status)) {
    kind = FileKind::regular;
    size = entry.file_size();
  } else if (fs::is_directory(status)) {
    kind = FileKind::directory;
  } else if (fs::is_symlink(status)) {
    kind = FileKind::symlink;
  }
  tree.add(path, kind, size, "", [&]() -> std::string {
    if (size > max_catalogued_file) return {};
    return read_file(entry.path());
  });
}

}  // namespace

Filesystem read_rootfs(const fs::path& root) {
  if (!fs::is_directory(root)) fail("rootfs ", quote(root.string()), " is not a directory");
  detail::MergedTree tree;
  tree.begin_layer(0);
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error);
  if (error) fail("cannot read rootfs ", quote(root.string()), ": ", error.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) fail("cannot read rootfs ", quote(root.string()), ": ", error.message());
    add_rootfs_entry(tree, *it, root);
  }
  tree.end_layer();
  return tree.finish();
}

}  // namespace imgbuild::report
