// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/error.hpp"

namespace imgbuild {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() { reset(); }

int UniqueFd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

UniqueFd open_file(const fs::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail_errno(cat("cannot open ", path));
  return UniqueFd(fd);
}

std::string read_file(const fs::path& path) {
  UniqueFd fd = open_file(path, O_RDONLY);
  std::string data;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(cat("cannot read ", path));
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("write failed");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void fsync_directory(const fs::path& directory) {
  UniqueFd fd = open_file(directory.empty() ? fs::path(".") : directory, O_RDONLY | O_DIRECTORY);
  if (::fsync(fd.get()) != 0) fail_errno(cat("cannot fsync ", directory));
}

void write_file_atomic(const fs::path& path, std::string_view data, int mode) {
  fs::path temp = path;
  temp += cat(".tmp.", ::getpid());
  {
    UniqueFd fd = open_file(temp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    try {
      write_all(fd.get(), data);
      if (::fsync(fd.get()) != 0) fail_errno(cat("cannot fsync ", temp));
    } catch (...) {
      ::unlink(temp.c_str());
      throw;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    fail_errno(cat("cannot rename ", temp, " to ", path), saved);
  }
  fsync_directory(path.parent_path());
}

TempDir::TempDir(std::string_view prefix, const fs::path& parent) {
  fs::path base = parent;
  if (base.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    base = tmpdir && *tmpdir ? tmpdir : "/tmp";
  }
  std::string pattern = (base / cat(prefix, "XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) fail_errno(cat("cannot create a temporary directory in ", base));
  path_ = pattern;
  cleanup::register_path(path_);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)), owned_(other.owned_) {
  other.owned_ = false;
}

TempDir::~TempDir() {
  if (!owned_ || path_.empty()) return;
  try {
    remove_tree(path_);
  } catch (...) {
    // A destructor must not throw; the interrupt handler's list still names it.
    return;
  }
  cleanup::unregister_path(path_);
}

void TempDir::keep() noexcept {
  owned_ = false;
  cleanup::unregister_path(path_);
}

void remove_tree(const fs::path& path) {
  std::error_code error;
  fs::file_status status = fs::symlink_status(path, error);
  if (!fs::exists(status)) return;
  // Directories copied from a rootfs can lack the write bit (0555 /proc
  // placeholders, 0500 home dirs); restore it so their entries can go.
  // chmod(2) follows symlinks, and a rootfs has links such as
  // dev/stdin -> /proc/self/fd/0, so only real directories are touched.
  if (fs::is_directory(status)) {
    ::chmod(path.c_str(), 0700);
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (fs::is_directory(it->symlink_status(error))) ::chmod(it->path().c_str(), 0700);
    }
  }
  fs::remove_all(path, error);
  if (error) throw Error(cat("cannot remove ", path, ": ", error.message()));
}

fs::path default_store_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "imgbuild";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "imgbuild";
  return fs::path("/var/cache/imgbuild");
}

}  // namespace imgbuild
