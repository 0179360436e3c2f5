// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/catalog.hpp"

#include "imgbuild/layer/unpack.hpp"
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

FileKind kind_of(layer::EntryType type) {
  switch (type) {
    case layer::EntryType::regular: return FileKind::regular;
    case layer::EntryType::directory: return FileKind::directory;
    case layer::EntryType::symlink: return FileKind::symlink;
    case layer::EntryType::hardlink: return FileKind::hardlink;
    default: return FileKind::other;
  }
}

std::string read_if_small(layer::ContentReader& content, const std::string& path, std::uint64_t size) {
  if (size > max_catalogued_file) {
    log::warn(cat("not cataloguing ", quote(path), ": ", human_bytes(size), " is too large"));
    return {};
  }
  return content.read_all(max_catalogued_file);
}

// Adds one tar member; `entry.path` is relative and cleaned by the reader.
void add_entry(detail::MergedTree& tree, const layer::Entry& entry, layer::ContentReader& content) {
  if (entry.path.empty() || entry.path == ".") return;
  // JSON carries only UTF-8, so a name of raw bytes is catalogued escaped.
  std::string path = "/" + utf8_or_escaped(entry.path);

  std::size_t slash = path.rfind('/');
  std::string_view base = std::string_view(path).substr(slash + 1);
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  if (base == ".wh..wh..opq") return tree.opaque(parent);
  // Other ".wh..wh." names are AUFS bookkeeping, not whiteouts.
  if (starts_with(base, ".wh..wh.")) return;
  if (starts_with(base, ".wh.")) return tree.whiteout(path.substr(0, slash + 1) + std::string(base.substr(4)));

  FileKind kind = kind_of(entry.type);
  std::string target = kind == FileKind::hardlink ? "/" + utf8_or_escaped(entry.link_target) : "";
  tree.add(path, kind, entry.size, target, [&] { return read_if_small(content, path, entry.size); });
}

}  // namespace

namespace detail {

void read_layers_into(MergedTree& tree, std::span<const fs::path> blobs, std::size_t first,
                      const std::function<void(std::size_t)>& after_layer) {
  for (std::size_t index = first; index < blobs.size(); ++index) {
    tree.begin_layer(static_cast<int>(index));
    layer::ReadResult read = layer::for_each_entry(
        blobs[index], [&](const layer::Entry& entry, layer::ContentReader& content) { add_entry(tree, entry, content); });
    tree.end_layer();
    tree.record_tar_size(read.uncompressed_size);
    if (after_layer) after_layer(index + 1);
  }
}

}  // namespace detail

Filesystem read_layers(std::span<const fs::path> blobs) {
  detail::MergedTree tree;
  detail::read_layers_into(tree, blobs, 0, {});
  return tree.finish();
}

namespace {

void add_rootfs_entry(detail::MergedTree& tree, const fs::directory_entry& entry, const fs::path& root) {
  std::string path = "/" + utf8_or_escaped(entry.path().lexically_relative(root).generic_string());
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
