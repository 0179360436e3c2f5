// SPDX-License-Identifier: Apache-2.0
#include "exec/overlay.hpp"

#include <cerrno>
#include <fcntl.h>
#include <map>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/layer/mount_stack.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::exec {
namespace {

namespace fs = std::filesystem;

// mount(2) copies at most one page of option data, terminating NUL included.
std::size_t max_option_length() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) - 1; }

// Escapes the characters that separate overlay options and lower dirs, the
// way layer::lowerdir_option does for lower dirs.
std::string escape_option(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ',' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string read_xattr(const fs::path& path, const char* name) {
  char value[64];
  ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return size > 0 ? std::string(value, static_cast<std::size_t>(size)) : std::string();
}

bool is_opaque(const fs::path& directory) {
  return read_xattr(directory, "trusted.overlay.opaque") == "y" || read_xattr(directory, "user.overlay.opaque") == "y";
}

void copy_xattrs(const fs::path& from, const fs::path& to) {
  std::string names(4096, '\0');
  ssize_t length = ::llistxattr(from.c_str(), names.data(), names.size());
  if (length <= 0) return;
  names.resize(static_cast<std::size_t>(length));
  for (const auto& name : split(names, '\0')) {
    if (name.empty() || starts_with(name, "trusted.overlay.") || starts_with(name, "user.overlay.")) continue;
    std::string value(65536, '\0');
    ssize_t size = ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size());
    if (size < 0) continue;
    if (::lsetxattr(to.c_str(), name.c_str(), value.data(), static_cast<std::size_t>(size), 0) != 0)
      fail_errno(cat("cannot set xattr ", quote(name), " on ", to));
  }
}

void copy_metadata(const fs::path& from, const struct stat& st, const fs::path& to) {
  if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) fail_errno(cat("cannot chown ", to));
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0) fail_errno(cat("cannot chmod ", to));
  copy_xattrs(from, to);
}

void set_times(const fs::path& path, const struct stat& st) {
  timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// Places one non-directory entry; hard links share the lower inode because
// overlayfs never writes to a lower file.
void place_entry(const fs::path& from, const struct stat& st, const fs::path& to) {
  if (S_ISREG(st.st_mode)) {
    if (::link(from.c_str(), to.c_str()) == 0) return;
    fs::copy_file(from, to);
  } else if (S_ISLNK(st.st_mode)) {
    fs::create_symlink(fs::read_symlink(from), to);
  } else if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0) {
    fail_errno(cat("cannot create ", to));
  }
  copy_metadata(from, st, to);
  set_times(to, st);
}

struct Merger {
  std::map<fs::path, struct stat> directory_times;

  void merge_directory(const fs::path& from, const fs::path& to) {
    for (const auto& child : fs::directory_iterator(from)) {
      fs::path source = child.path();
      fs::path destination = to / source.filename();
      struct stat st{};
      if (::lstat(source.c_str(), &st) != 0) fail_errno(cat("cannot stat ", source));

      bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
      struct stat existing{};
      bool exists = ::lstat(destination.c_str(), &existing) == 0;
      bool keep_directory = exists && S_ISDIR(existing.st_mode) && S_ISDIR(st.st_mode) && !is_opaque(source);
      if (exists && !keep_directory) remove_tree(destination);
      if (whiteout) continue;

      if (!S_ISDIR(st.st_mode)) {
        place_entry(source, st, destination);
        continue;
      }
      if (!keep_directory && ::mkdir(destination.c_str(), 0700) != 0) fail_errno(cat("cannot create ", destination));
      copy_metadata(source, st, destination);
      directory_times[destination] = st;
      merge_directory(source, destination);
    }
  }
};

}  // namespace

void merge_lower_dirs(const std::vector<fs::path>& lowers, const fs::path& destination) {
  fs::create_directories(destination);
  Merger merger;
  for (const auto& lower : lowers) {
    struct stat st{};
    if (::lstat(lower.c_str(), &st) != 0) fail_errno(cat("cannot stat lower dir ", lower));
    copy_metadata(lower, st, destination);
    merger.directory_times[destination] = st;
    merger.merge_directory(lower, destination);
  }
  // Creating entries changed the directories' mtimes; restore them last.
  for (const auto& [directory, st] : merger.directory_times) set_times(directory, st);
}

OverlayMount::OverlayMount(const std::vector<fs::path>& lowers, const fs::path& upper, const fs::path& work,
                           const fs::path& target, const fs::path& scratch, bool user_xattr)
    : target_(target) {
  if (lowers.empty()) fail("cannot mount an overlay without lower dirs: give at least one lower dir");
  std::string rest = cat(",upperdir=", escape_option(upper.string()), ",workdir=", escape_option(work.string()),
                         user_xattr ? ",userxattr" : "");
  options_ = layer::lowerdir_option(lowers) + rest;

  // Overlay resolves the paths at mount time, so short symlinks in the
  // scratch dir can stand in for long lower paths.
  std::vector<fs::path> paths = lowers;
  if (options_.size() > max_option_length()) {
    fs::create_directories(scratch / "l");
    for (std::size_t i = 0; i < paths.size(); ++i) {
      fs::path link = scratch / "l" / std::to_string(i);
      fs::create_symlink(fs::absolute(lowers[i]), link);
      paths[i] = link;
    }
    options_ = layer::lowerdir_option(paths) + rest;
  }

  // Still too long: merge the bottom layers into one directory, enough of
  // them that the remaining paths and the merged dir's path fit.
  if (options_.size() > max_option_length()) {
    fs::path merged = scratch / "merged";
    std::size_t needed = options_.size() - max_option_length() + escape_option(merged.string()).size() + 1;
    std::size_t saved = 0;
    while (merged_layers_ < paths.size() && saved < needed)
      saved += escape_option(paths[merged_layers_++].string()).size() + 1;
    auto split_point = lowers.begin() + static_cast<std::ptrdiff_t>(merged_layers_);
    merge_lower_dirs(std::vector<fs::path>(lowers.begin(), split_point), merged);

    std::vector<fs::path> remaining = {merged};
    remaining.insert(remaining.end(), paths.begin() + static_cast<std::ptrdiff_t>(merged_layers_), paths.end());
    options_ = layer::lowerdir_option(remaining) + rest;
    if (options_.size() > max_option_length())
      fail("overlay mount options for ", target_, " exceed one page even after merging all lower dirs: "
           "use shorter upper and work paths");
  }

  fs::create_directories(target_);
  if (::mount("overlay", target_.c_str(), "overlay", 0, options_.c_str()) != 0)
    fail_errno(cat("cannot mount overlay at ", target_, " (", lowers.size(), " lower dirs, upper ", upper, ")"));
  mounted_ = true;
  cleanup::register_mount(target_);
}

void OverlayMount::unmount() {
  if (!mounted_) return;
  if (::umount2(target_.c_str(), 0) != 0) {
    int saved = errno;
    // A process of the step that escaped the runtime's kill can hold it;
    // detach so the tree goes away when that process ends.
    if (::umount2(target_.c_str(), MNT_DETACH) != 0) fail_errno(cat("cannot unmount ", target_), saved);
  }
  mounted_ = false;
  cleanup::unregister_mount(target_);
}

OverlayMount::~OverlayMount() {
  try {
    unmount();
  } catch (...) {
    // The interrupt handler still lists the mount.
  }
}

bool is_mount_point(const fs::path& target) {
  std::string wanted = target.lexically_normal().string();
  for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
    auto fields = split(line, ' ');
    if (fields.size() < 5) continue;
    // mountinfo writes space, tab, newline and backslash as octal escapes.
    std::string point;
    for (std::size_t i = 0; i < fields[4].size(); ++i) {
      if (fields[4][i] == '\\' && i + 3 < fields[4].size()) {
        point += static_cast<char>(std::stoi(fields[4].substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        point += fields[4][i];
      }
    }
    if (point == wanted) return true;
  }
  return false;
}

}  // namespace imgbuild::exec
