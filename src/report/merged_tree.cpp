// SPDX-License-Identifier: Apache-2.0
#include "report/merged_tree.hpp"

#include <algorithm>

#include "imgbuild/util/strings.hpp"

namespace imgbuild::report::detail {

void MergedTree::begin_layer(int index) {
  layer_ = index;
  catalogue_changed_ = false;
}

void MergedTree::record_overwrite(const std::string& path, const FileRecord& hidden) {
  if (hidden.kind != FileKind::regular) return;
  Overwrite& overwrite = state_.overwrites[path];
  overwrite.path = path;
  if (overwrite.layers.empty()) overwrite.layers.push_back(hidden.layer);
  overwrite.layers.push_back(layer_);
  overwrite.wasted += hidden.size;
}

void MergedTree::forget_content(const std::string& path) {
  if (state_.interesting.erase(path) > 0) catalogue_changed_ = true;
}

void MergedTree::hide_lower(const std::string& path, bool include_self) {
  if (include_self) {
    auto self = state_.files.find(path);
    if (self != state_.files.end() && self->second.layer < layer_) {
      record_overwrite(path, self->second);
      forget_content(path);
      state_.files.erase(self);
    }
  }

  std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = state_.files.lower_bound(prefix); it != state_.files.end() && starts_with(it->first, prefix);) {
    if (it->second.layer >= layer_) {
      ++it;
      continue;
    }
    record_overwrite(it->first, it->second);
    forget_content(it->first);
    it = state_.files.erase(it);
  }
}

void MergedTree::add(const std::string& path, FileKind kind, std::uint64_t size,
                     const std::string& hardlink_target,
                     const std::function<std::string()>& read_content) {
  auto existing = state_.files.find(path);
  if (existing != state_.files.end()) {
    bool both_directories = existing->second.kind == FileKind::directory && kind == FileKind::directory;
    if (!both_directories) record_overwrite(path, existing->second);
    // A file or link that replaces a directory hides what was below it.
    if (existing->second.kind == FileKind::directory && kind != FileKind::directory)
      hide_lower(path, false);
  }
  state_.files[path] = FileRecord{kind, kind == FileKind::regular ? size : 0, layer_};

  Interest interest = classify(path);
  if (interest == Interest::none) return;
  catalogue_changed_ = true;
  if (kind == FileKind::regular) {
    state_.interesting[path] = keep_content(interest, read_content());
  } else if (kind == FileKind::hardlink && state_.interesting.contains(hardlink_target)) {
    state_.interesting[path] = state_.interesting[hardlink_target];
  } else {
    // A symlinked /etc/os-release falls back to /usr/lib/os-release.
    state_.interesting.erase(path);
  }
}

void MergedTree::whiteout(const std::string& path) {
  hide_lower(path, true);
}

void MergedTree::opaque(const std::string& directory) {
  hide_lower(directory, false);
}

void MergedTree::end_layer() {
  if (!catalogue_changed_) return;

  // A package keeps the layer of its previous sighting while its version
  // stays the same; a new or changed version belongs to this layer.
  std::vector<Package> current = catalogue(state_.interesting);
  for (Package& package : current) {
    auto before = std::lower_bound(state_.packages.begin(), state_.packages.end(), package,
                                   [](const Package& a, const Package& b) { return a.key() < b.key(); });
    bool same = before != state_.packages.end() && before->key() == package.key() &&
                before->version == package.version;
    package.layer = same ? before->layer : layer_;
  }
  state_.packages = std::move(current);
  catalogue_changed_ = false;
}

Filesystem MergedTree::finish() {
  Filesystem result;
  result.files = std::move(state_.files);
  result.packages = std::move(state_.packages);
  result.os = read_os_release(state_.interesting);
  result.layer_tar_sizes = std::move(state_.layer_tar_sizes);
  for (auto& [path, overwrite] : state_.overwrites) result.overwrites.push_back(std::move(overwrite));
  std::stable_sort(result.overwrites.begin(), result.overwrites.end(),
                   [](const Overwrite& a, const Overwrite& b) { return a.wasted > b.wasted; });
  return result;
}

}  // namespace imgbuild::report::detail
