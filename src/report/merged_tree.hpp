// SPDX-License-Identifier: Apache-2.0
// The merged view of an image's layers as the catalogue walks them: which
// path came from which layer, what later layers hid, and the packages after
// each layer (so a package is blamed on the layer that brought its version).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "imgbuild/report/catalog.hpp"
#include "report/packages.hpp"

namespace imgbuild::report::detail {

class MergedTree {
 public:
  void begin_layer(int index);

  // Adds an entry of the current layer. `read_content` is called only for
  // regular files the catalogue reads; `hardlink_target` is absolute.
  void add(const std::string& path, FileKind kind, std::uint64_t size,
           const std::string& hardlink_target, const std::function<std::string()>& read_content);

  // Applies `.wh.NAME`: hides `path` and everything below it from lower layers.
  void whiteout(const std::string& path);
  // Applies `DIR/.wh..wh..opq`: hides the lower layers' children of `directory`.
  void opaque(const std::string& directory);

  // Re-reads the packages when the layer changed a catalogued file.
  void end_layer();

  Filesystem finish();

 private:
  void hide_lower(const std::string& path, bool include_self);
  void record_overwrite(const std::string& path, const FileRecord& hidden);
  void forget_content(const std::string& path);

  std::map<std::string, FileRecord> files_;
  std::map<std::string, Overwrite> overwrites_;
  InterestingFiles interesting_;
  std::vector<Package> packages_;
  int layer_ = 0;
  bool catalogue_changed_ = false;
};

}  // namespace imgbuild::report::detail
