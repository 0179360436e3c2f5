// SPDX-License-Identifier: Apache-2.0
#include "layer/safe_fs.hpp"

#include <cerrno>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::layer {
namespace {

constexpr int max_symlinks = 40;  // the kernel's own limit for one lookup

int openat2_in_root(int root_fd, const std::string& path) {
#ifdef SYS_openat2
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
#else
  errno = ENOSYS;
  return -1;
#endif
}

UniqueFd reopen_from_root(int root_fd, const std::vector<std::string>& stack) {
  UniqueFd current(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (const std::string& component : stack) {
    if (!current.valid()) break;
    current.reset(::openat(current.get(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  return current;
}

// Resolves one component at a time, reading symlinks ourselves: an absolute
// target restarts at the root, and ".." never climbs above it.
UniqueFd walk_in_root(int root_fd, std::string_view path, bool create) {
  std::vector<std::string> stack;
  std::deque<std::string> todo;
  for (auto& component : split(path, '/')) todo.push_back(component);
  UniqueFd current = reopen_from_root(root_fd, stack);
  int links = 0;

  while (!todo.empty() && current.valid()) {
    std::string component = todo.front();
    todo.pop_front();
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      if (!stack.empty()) stack.pop_back();
      current = reopen_from_root(root_fd, stack);
      continue;
    }

    struct stat info {};
    if (::fstatat(current.get(), component.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT || !create) return UniqueFd();
      if (::mkdirat(current.get(), component.c_str(), 0755) != 0 && errno != EEXIST) return UniqueFd();
      todo.push_front(component);
      continue;
    }
    if (S_ISLNK(info.st_mode)) {
      if (++links > max_symlinks) {
        errno = ELOOP;
        return UniqueFd();
      }
      std::string target(static_cast<std::size_t>(info.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(current.get(), component.c_str(), target.data(), target.size());
      if (n < 0) return UniqueFd();
      target.resize(static_cast<std::size_t>(n));
      if (starts_with(target, "/")) stack.clear();
      auto parts = split(target, '/');
      todo.insert(todo.begin(), parts.begin(), parts.end());
      current = reopen_from_root(root_fd, stack);
      continue;
    }
    current.reset(::openat(current.get(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    stack.push_back(component);
  }
  return current;
}

}  // namespace

UniqueFd open_dir_in_root(int root_fd, std::string_view path, bool create) {
  if (path.empty()) return UniqueFd(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  int fd = openat2_in_root(root_fd, std::string(path));
  if (fd >= 0) return UniqueFd(fd);
  if (errno == ENOSYS || errno == EPERM || (errno == ENOENT && create)) return walk_in_root(root_fd, path, create);
  return UniqueFd();
}

void remove_at(int dir_fd, const std::string& name) {
  struct stat info {};
  if (::fstatat(dir_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    fail_errno(cat("cannot stat ", quote(name)));
  }
  if (!S_ISDIR(info.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) fail_errno(cat("cannot remove ", quote(name)));
    return;
  }

  // Unprivileged callers need write and search permission to empty it.
  ::fchmodat(dir_fd, name.c_str(), 0700, 0);
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail_errno(cat("cannot open directory ", quote(name)));
  UniqueFd directory(fd);
  for (const std::string& child : list_directory(directory.get())) remove_at(directory.get(), child);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    fail_errno(cat("cannot remove directory ", quote(name)));
}

std::vector<std::string> list_directory(int fd) {
  DIR* directory = ::fdopendir(::dup(fd));
  if (directory == nullptr) fail_errno("cannot list a directory");
  std::vector<std::string> names;
  while (dirent* item = ::readdir(directory)) {
    std::string name = item->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(directory);
  return names;
}

std::pair<std::string, std::string> split_parent(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(path)};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

}  // namespace imgbuild::layer
