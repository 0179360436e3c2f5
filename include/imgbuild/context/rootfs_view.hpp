// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/context/source_tree.hpp"
#include "imgbuild/util/fs.hpp"

namespace imgbuild::context {

class StatCache;

// A read-only merged view over directories in overlayfs lower form, bottom
// first: a character device 0/0 is a whiteout hiding that name below, and a
// directory with the xattr `trusted.overlay.opaque` or `user.overlay.opaque`
// set to "y" hides everything below it. `plain` views one ordinary directory,
// where device nodes and xattrs mean nothing special.
//
// Image paths may be given as "/etc/passwd" or "etc/passwd". Symlinks are
// followed inside the view as if it were '/', and ".." stops at its root, so
// no call ever reads a host path outside the layers.
class RootfsView : public SourceTree {
 public:
  // `name` appears in messages ("stage 'builder'").
  RootfsView(std::vector<std::filesystem::path> lower_dirs_bottom_first, std::string name = "rootfs");
  static RootfsView plain(const std::filesystem::path& directory, std::string name = "");

  RootfsView(RootfsView&&) noexcept;
  ~RootfsView() override;

  SourceKind kind() const override { return kind_; }
  std::string describe() const override;
  std::optional<FileInfo> entry(std::string_view physical_path) const override;
  std::vector<std::string> list(std::string_view physical_path) const override;
  std::vector<DirectoryEntry> scan(std::string_view physical_path) const override;
  std::map<std::string, std::string> xattrs(std::string_view physical_path) const override;
  void attach_content(std::string_view physical_path, layer::Entry& entry) const override;
  std::string read(std::string_view physical_path, std::size_t limit) const override;
  ContentInfo content_info(std::string_view physical_path, const FileInfo& info) const override;

  // Returns the symlink target of `image_path` (parents resolved), or nothing
  // when it is missing or not a symlink.
  std::optional<std::string> readlink(std::string_view image_path) const;

  // Returns the names in the directory `image_path` (symlinks followed).
  std::vector<std::string> list_directory(std::string_view image_path) const;

  // Opens the file `image_path` for reading, symlinks followed inside the view.
  UniqueFd open(std::string_view image_path) const;

  // Reads the whole file `image_path`, symlinks followed inside the view.
  std::string read_file(std::string_view image_path) const;

  // Returns the host path of `image_path` (parents resolved, last component
  // not followed); throws naming the path when it does not exist.
  std::filesystem::path host_path(std::string_view image_path) const;

  // Hash file contents through `cache` (may be null); see StatCache.
  void use_stat_cache(std::shared_ptr<StatCache> cache) { stat_cache_ = std::move(cache); }
  // Marks the view as a build context: copied files get owner 0:0.
  void set_kind(SourceKind kind) { kind_ = kind; }

 private:
  // Host directories that make up the merged directory `physical_path`,
  // top first; empty when it is not a directory in the view.
  std::vector<std::filesystem::path> layers_of(std::string_view physical_path) const;
  std::optional<std::filesystem::path> locate(std::string_view physical_path) const;
  // Host path of `physical_path` in a plain view, which has one directory.
  std::string plain_host_path(std::string_view physical_path) const;

  std::vector<std::filesystem::path> top_first_;
  bool overlay_ = true;
  std::string name_;
  SourceKind kind_ = SourceKind::stage;
  std::shared_ptr<StatCache> stat_cache_;
  mutable std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  mutable std::map<std::string, std::vector<std::filesystem::path>, std::less<>> directories_;
};

}  // namespace imgbuild::context
