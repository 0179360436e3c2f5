// SPDX-License-Identifier: Apache-2.0
// The merged view of an image's layers as the catalogue walks them: which
// path came from which layer, what later layers hid, and the packages after
// each layer (so a package is blamed on the layer that brought its version).
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "imgbuild/report/catalog.hpp"
#include "report/packages.hpp"

namespace imgbuild::report::detail {

// Everything the walk has gathered after some layers: enough to go on with
// the next layer without reading the earlier ones again.
struct TreeState {
  std::map<std::string, FileRecord> files;
  std::map<std::string, Overwrite> overwrites;
  InterestingFiles interesting;
  std::vector<Package> packages;
  std::vector<std::uint64_t> layer_tar_sizes;
};

class MergedTree {
 public:
  MergedTree() = default;
  // Continues a walk from the state saved after its first layers.
  explicit MergedTree(TreeState state) : state_(std::move(state)) {}
  const TreeState& state() const { return state_; }
  void record_tar_size(std::uint64_t size) { state_.layer_tar_sizes.push_back(size); }

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

  TreeState state_;
  int layer_ = 0;
  bool catalogue_changed_ = false;
};

// Reads blobs[first], blobs[first + 1]... into `tree`, which already has the
// state after the layers before `first`. Calls `after_layer` with the count of
// layers read so far after each one.
void read_layers_into(MergedTree& tree, std::span<const fs::path> blobs, std::size_t first,
                      const std::function<void(std::size_t)>& after_layer);

}  // namespace imgbuild::report::detail
