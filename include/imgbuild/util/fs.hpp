// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace imgbuild {

namespace fs = std::filesystem;

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept;
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Opens `path` with open(2) flags; throws naming the path on failure.
UniqueFd open_file(const fs::path& path, int flags, int mode = 0644);

// Reads a whole file into memory. Throws naming the path on failure.
std::string read_file(const fs::path& path);

// Writes all of `data` to `fd`, retrying short writes and EINTR.
void write_all(int fd, std::string_view data);

// Writes `data` to `path` so that readers see either the old file or the new
// one: a temporary file beside it, fsync, rename, fsync of the directory.
void write_file_atomic(const fs::path& path, std::string_view data, int mode = 0644);

// Flushes a directory entry (after a rename or create) to disk.
void fsync_directory(const fs::path& directory);

// A directory created under `parent` (default: $TMPDIR or /tmp) and removed
// with its contents on destruction, unless `keep()` was called. The directory
// is registered with the interrupt handler so Ctrl-C also removes it.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "imgbuild-", const fs::path& parent = {});
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();

  const fs::path& path() const noexcept { return path_; }
  fs::path operator/(const fs::path& child) const { return path_ / child; }
  // Leaves the directory in place (after its content was renamed elsewhere).
  void keep() noexcept;

 private:
  fs::path path_;
  bool owned_ = true;
};

// Removes a tree that may hold read-only directories and immutable-looking
// modes (rootfs copies do); no-op when it does not exist.
void remove_tree(const fs::path& path);

// Returns $XDG_CACHE_HOME/imgbuild, or ~/.cache/imgbuild.
fs::path default_store_dir();

}  // namespace imgbuild
