// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/layer/entry.hpp"

namespace imgbuild::layer {

struct ScanOptions {
  // Glob patterns (`*` and `?` also match '/') of layer paths to leave out,
  // for volatile files such as "var/log/dpkg.log" or "var/cache/ldconfig/*".
  // An excluded directory leaves out its whole subtree.
  std::vector<std::string> exclude;
};

// Reads the tree under `root` (not `root` itself) into entries, without
// following symlinks: lstat metadata, xattrs (minus the overlay-private
// trusted.overlay.* and user.overlay.*), symlink targets, device numbers.
// Names sharing an inode become hardlinks to the first name in layer order.
// Sockets are skipped with a warning. Regular entries refer to their file
// through `source`; the result is in layer order.
std::vector<Entry> scan_tree(const std::filesystem::path& root, const ScanOptions& options = {});

// Turns an overlayfs upper directory into a changeset: a character device
// 0:0 becomes the whiteout `.wh.NAME`, and a directory marked opaque
// (trusted.overlay.opaque=y or user.overlay.opaque=y) becomes its entry,
// the marker `DIR/.wh..wh..opq` and its contents. Overlay-private xattrs
// are dropped. Needs a mount without redirect_dir and metacopy, whose
// upper directories are not self-contained.
std::vector<Entry> changes_from_overlay_upper(const std::filesystem::path& upper, const ScanOptions& options = {});

}  // namespace imgbuild::layer
