// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace imgbuild::exec {

// An overlayfs mount of `lowers` (bottom first) with `upper` and `work` at
// `target`, registered with the interrupt handler and unmounted on
// destruction. `scratch` is a private directory for the fallbacks a long
// lower list needs: short symlinks to the lower dirs, then a merged copy of
// the bottom layers when even those exceed the one page mount(2) accepts.
class OverlayMount {
 public:
  OverlayMount(const std::vector<std::filesystem::path>& lowers, const std::filesystem::path& upper,
               const std::filesystem::path& work, const std::filesystem::path& target,
               const std::filesystem::path& scratch, bool user_xattr);
  OverlayMount(const OverlayMount&) = delete;
  OverlayMount& operator=(const OverlayMount&) = delete;
  ~OverlayMount();

  // Unmounts now; throws Error when the mount is busy.
  void unmount();
  const std::string& options() const { return options_; }
  // How many bottom layers were merged into one directory to fit (0: none).
  std::size_t merged_layers() const { return merged_layers_; }

 private:
  std::filesystem::path target_;
  std::string options_;
  std::size_t merged_layers_ = 0;
  bool mounted_ = false;
};

// Copies `lowers` (bottom first, overlay form) into `destination` as one
// directory with their whiteouts and opaque markers applied. Files are
// hard-linked when the file system allows it, else copied.
void merge_lower_dirs(const std::vector<std::filesystem::path>& lowers, const std::filesystem::path& destination);

// True when `target` appears as a mount point in /proc/self/mountinfo.
bool is_mount_point(const std::filesystem::path& target);

}  // namespace imgbuild::exec
