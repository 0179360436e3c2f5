// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/unpack.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/userns.hpp"
#include "layer/reader.hpp"
#include "layer/safe_fs.hpp"

namespace imgbuild::layer {
namespace {

enum class Form { flat, overlay };

constexpr std::string_view opaque_name = ".wh..wh..opq";
constexpr std::size_t hole_block = 64 * 1024;

bool has_dotdot(std::string_view path) {
  for (const std::string& component : split(path, '/')) {
    if (component == "..") return true;
  }
  return false;
}

// Layers must not smuggle overlayfs control attributes (opaque, redirect,
// origin) into a lower directory, so those are never applied.
bool is_overlay_private(std::string_view name) {
  return starts_with(name, "trusted.overlay.") || starts_with(name, "user.overlay.");
}

std::string proc_path(int dir_fd, const std::string& name) { return cat("/proc/self/fd/", dir_fd, "/", name); }

class Unpacker {
 public:
  Unpacker(const fs::path& root, Form form, OpaqueXattr opaque, std::string layer)
      : root_fd_(open_file(root, O_RDONLY | O_DIRECTORY)), form_(form), opaque_(opaque), layer_(std::move(layer)) {}

  void apply(const Entry& entry, ContentReader& content) {
    if (has_dotdot(entry.path))
      fail("layer ", layer_, ": entry ", quote(entry.path), " has a '..' component, which could write outside the root; the layer is rejected");
    if (entry.path.empty()) return apply_root(entry);

    // Named variables, not a structured binding: clang 14 cannot capture those.
    std::pair<std::string, std::string> parts = split_parent(entry.path);
    const std::string& parent = parts.first;
    const std::string& base = parts.second;
    if (base == opaque_name) return apply_opaque(parent);
    if (is_whiteout_name(base)) return apply_whiteout(parent, base.substr(4));

    UniqueFd parent_fd = open_dir_in_root(root_fd_.get(), parent, true);
    if (!parent_fd.valid())
      fail_errno(cat("layer ", layer_, ": cannot create or open the parent directory of ", quote(entry.path)));
    with_context(cat("layer ", layer_, ": entry ", quote(entry.path)), [&] { create(parent_fd.get(), base, entry, content); });
    mark_written(entry.path);
  }

  // Sets directory modes and times last, since adding children changes a
  // directory's mtime and a read-only mode would block them.
  void finish() {
    for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) {
      auto [parent, base] = split_parent(it->first);
      UniqueFd parent_fd = open_dir_in_root(root_fd_.get(), parent, false);
      if (!parent_fd.valid()) continue;
      UniqueFd fd(it->first.empty() ? ::dup(root_fd_.get())
                                    : ::openat(parent_fd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) continue;
      ::fchmod(fd.get(), it->second.mode);
      timespec times[2] = {{it->second.mtime, 0}, {it->second.mtime, 0}};
      ::futimens(fd.get(), times);
    }
  }

  std::size_t skipped_devices() const { return skipped_devices_; }

 private:
  struct DirectoryAttributes {
    std::uint32_t mode;
    std::int64_t mtime;
  };

  void mark_written(const std::string& path) {
    std::string prefix = path;
    while (written_.insert(prefix).second) {
      auto slash = prefix.rfind('/');
      if (slash == std::string::npos) break;
      prefix.resize(slash);
    }
  }

  void apply_root(const Entry& entry) {
    if (entry.type != EntryType::directory) {
      log::warn(cat("layer ", layer_, ": skipping a non-directory entry for the root itself"));
      return;
    }
    set_owner_and_xattrs(root_fd_.get(), entry);
    directories_[""] = {entry.mode, entry.mtime};
  }

  void apply_whiteout(const std::string& parent, const std::string& name) {
    std::string target = parent.empty() ? name : parent + "/" + name;
    if (written_.count(target)) return;  // whiteouts hide lower layers only

    if (form_ == Form::flat) {
      UniqueFd parent_fd = open_dir_in_root(root_fd_.get(), parent, false);
      if (parent_fd.valid()) remove_at(parent_fd.get(), name);
      return;
    }
    UniqueFd parent_fd = open_dir_in_root(root_fd_.get(), parent, true);
    if (!parent_fd.valid()) fail_errno(cat("layer ", layer_, ": cannot create the directory of whiteout ", quote(target)));
    remove_at(parent_fd.get(), name);
    if (::mknodat(parent_fd.get(), name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      fail_errno(cat("layer ", layer_, ": cannot create the whiteout device for ", quote(target), " (needs CAP_MKNOD)"));
    mark_written(target);
  }

  void apply_opaque(const std::string& directory) {
    if (form_ == Form::flat) {
      UniqueFd fd = open_dir_in_root(root_fd_.get(), directory, false);
      if (fd.valid()) remove_lower_children(fd.get(), directory);
      return;
    }
    UniqueFd path_fd = open_dir_in_root(root_fd_.get(), directory, true);
    UniqueFd fd(path_fd.valid() ? ::openat(path_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1);
    if (!fd.valid()) fail_errno(cat("layer ", layer_, ": cannot open opaque directory ", quote(directory)));
    const char* name = opaque_ == OpaqueXattr::trusted ? "trusted.overlay.opaque" : "user.overlay.opaque";
    if (::fsetxattr(fd.get(), name, "y", 1, 0) != 0)
      fail_errno(cat("layer ", layer_, ": cannot mark ", quote(directory), " opaque with ", name));
    if (!directory.empty()) mark_written(directory);
  }

  // The opaque marker hides what lower layers put in the directory, but not
  // what this layer wrote there before the marker.
  void remove_lower_children(int dir_fd, const std::string& directory) {
    UniqueFd listing(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::vector<std::string> children = list_directory(listing.get());
    for (const std::string& child : children) {
      std::string path = directory.empty() ? child : directory + "/" + child;
      if (!written_.count(path)) {
        remove_at(dir_fd, child);
        continue;
      }
      UniqueFd sub(::openat(dir_fd, child.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) remove_lower_children(sub.get(), path);
    }
  }

  // Removes what is at `name`, except a directory when `keep_directory` is
  // set, because a directory over a directory only changes attributes.
  // Returns whether a directory was kept.
  static bool clear_path(int parent_fd, const std::string& name, bool keep_directory) {
    struct stat info {};
    if (::fstatat(parent_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return false;
    if (keep_directory && S_ISDIR(info.st_mode)) return true;
    remove_at(parent_fd, name);
    return false;
  }

  void create(int parent_fd, const std::string& name, const Entry& entry, ContentReader& content) {
    switch (entry.type) {
      case EntryType::directory:
        return create_directory(parent_fd, name, entry);
      case EntryType::regular:
        return create_file(parent_fd, name, entry, content);
      case EntryType::symlink:
        return create_symlink(parent_fd, name, entry);
      case EntryType::hardlink:
        return create_hardlink(parent_fd, name, entry);
      case EntryType::char_device:
      case EntryType::block_device:
      case EntryType::fifo:
        return create_node(parent_fd, name, entry);
    }
  }

  void create_directory(int parent_fd, const std::string& name, const Entry& entry) {
    if (!clear_path(parent_fd, name, true) && ::mkdirat(parent_fd, name.c_str(), 0700) != 0) fail_errno("cannot create the directory");
    UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) fail_errno("cannot open the directory");
    set_owner_and_xattrs(fd.get(), entry);
    directories_[entry.path] = {entry.mode, entry.mtime};
  }

  void create_file(int parent_fd, const std::string& name, const Entry& entry, ContentReader& content) {
    clear_path(parent_fd, name, false);
    UniqueFd fd(::openat(parent_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) fail_errno("cannot create the file");
    write_content(fd.get(), entry.size, content);
    set_owner_and_xattrs(fd.get(), entry);
    if (::fchmod(fd.get(), entry.mode) != 0) fail_errno("cannot set the mode");
    timespec times[2] = {{entry.mtime, 0}, {entry.mtime, 0}};
    ::futimens(fd.get(), times);
  }

  // Zero blocks become holes, so a sparse file stays sparse on disk.
  static void write_content(int fd, std::uint64_t size, ContentReader& content) {
    std::vector<char> buffer(1 << 20);
    std::uint64_t total = 0;
    while (std::size_t n = content.read(buffer.data(), buffer.size())) {
      for (std::size_t offset = 0; offset < n; offset += hole_block) {
        std::size_t length = std::min(hole_block, n - offset);
        const char* block = buffer.data() + offset;
        bool zero = block[0] == 0 && std::memcmp(block, block + 1, length - 1) == 0;
        if (zero) {
          if (::lseek(fd, static_cast<off_t>(length), SEEK_CUR) < 0) fail_errno("cannot seek");
        } else {
          write_all(fd, std::string_view(block, length));
        }
      }
      total += n;
    }
    if (total != size) fail("content is ", total, " bytes but the header says ", size);
    if (::ftruncate(fd, static_cast<off_t>(total)) != 0) fail_errno("cannot set the file size");
  }

  void create_symlink(int parent_fd, const std::string& name, const Entry& entry) {
    clear_path(parent_fd, name, false);
    if (::symlinkat(entry.link_target.c_str(), parent_fd, name.c_str()) != 0) fail_errno("cannot create the symlink");
    finish_node(parent_fd, name, entry, false);
  }

  void create_hardlink(int parent_fd, const std::string& name, const Entry& entry) {
    std::string target = clean_entry_path(entry.link_target);
    if (has_dotdot(target) || target.empty())
      fail("hardlink target ", quote(entry.link_target), " has a '..' component or names the root, which could link outside it; the layer is rejected");
    if (target == entry.path) return;

    auto [target_parent, target_name] = split_parent(target);
    UniqueFd target_fd = open_dir_in_root(root_fd_.get(), target_parent, false);
    struct stat info {};
    if (!target_fd.valid() || ::fstatat(target_fd.get(), target_name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0)
      fail("hardlink target ", quote(entry.link_target), " does not exist", form_ == Form::overlay ? " in this layer" : "");
    if (S_ISDIR(info.st_mode)) fail("hardlink target ", quote(entry.link_target), " is a directory");

    clear_path(parent_fd, name, false);
    if (::linkat(target_fd.get(), target_name.c_str(), parent_fd, name.c_str(), 0) != 0)
      fail_errno(cat("cannot link to ", quote(entry.link_target)));
  }

  void create_node(int parent_fd, const std::string& name, const Entry& entry) {
    clear_path(parent_fd, name, false);
    mode_t type = entry.type == EntryType::fifo ? S_IFIFO : entry.type == EntryType::char_device ? S_IFCHR : S_IFBLK;
    dev_t device = entry.type == EntryType::fifo ? 0 : makedev(entry.dev_major, entry.dev_minor);
    if (::mknodat(parent_fd, name.c_str(), type | 0600, device) != 0) {
      if (errno != EPERM || entry.type == EntryType::fifo) fail_errno("cannot create the node");
      if (skipped_devices_++ == 0)
        log::warn(cat("layer ", layer_, ": skipping device ", quote(entry.path), " and any further devices: creating device nodes needs CAP_MKNOD"));
      return;
    }
    finish_node(parent_fd, name, entry, true);
  }

  // Applies owner, mode, xattrs and mtime to a node that cannot be opened
  // for writing (symlink, device, FIFO).
  void finish_node(int parent_fd, const std::string& name, const Entry& entry, bool set_mode) {
    if (privileged_ && ::fchownat(parent_fd, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0)
      owner_failed(entry);
    if (set_mode && ::fchmodat(parent_fd, name.c_str(), entry.mode, 0) != 0) fail_errno("cannot set the mode");
    std::string path = proc_path(parent_fd, name);
    for (const auto& [key, value] : entry.xattrs) {
      if (is_overlay_private(key)) continue;
      if (::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) != 0) warn_xattr(entry.path, key);
    }
    timespec times[2] = {{entry.mtime, 0}, {entry.mtime, 0}};
    ::utimensat(parent_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  void set_owner_and_xattrs(int fd, const Entry& entry) {
    if (privileged_ && ::fchown(fd, entry.uid, entry.gid) != 0) owner_failed(entry);
    for (const auto& [key, value] : entry.xattrs) {
      if (is_overlay_private(key)) continue;
      if (::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0) != 0) warn_xattr(entry.path, key);
    }
  }

  [[noreturn]] void owner_failed(const Entry& entry) {
    // In a user namespace an id outside its maps is EINVAL.
    if (errno == EINVAL && in_user_namespace())
      fail(cat("cannot give the owner ", entry.uid, ":", entry.gid, " to ", quote(entry.path), " of layer ", layer_,
               ": the id is not mapped in imgbuild's user namespace; give your user subordinate ids in "
               "/etc/subuid and /etc/subgid"));
    fail_errno("cannot set the owner");
  }

  void warn_xattr(const std::string& path, const std::string& key) {
    int saved = errno;
    if (failed_xattrs_.insert(key).second)
      log::warn(cat("layer ", layer_, ": cannot set xattr ", quote(key), " on ", quote(path), " (", std::strerror(saved),
                    "); it is left out here and wherever else it occurs in this layer"));
  }

  UniqueFd root_fd_;
  Form form_;
  OpaqueXattr opaque_;
  std::string layer_;
  bool privileged_ = ::geteuid() == 0;
  std::set<std::string> written_;
  std::map<std::string, DirectoryAttributes> directories_;
  std::set<std::string> failed_xattrs_;
  std::size_t skipped_devices_ = 0;
};

UnpackResult unpack(const fs::path& blob, const fs::path& root, const ReadOptions& options, Form form, OpaqueXattr opaque) {
  UnpackResult result;
  run_checking_blob(blob, options, [&] {
    TarReader reader(blob, options);
    Unpacker unpacker(root, form, opaque, reader.layer_name());
    Entry entry;
    while (reader.next(entry)) unpacker.apply(entry, reader);
    result.read = reader.finish();
    unpacker.finish();
    result.skipped_devices = unpacker.skipped_devices();
  });
  return result;
}

}  // namespace

UnpackResult unpack_flat(const fs::path& blob, const fs::path& root, const ReadOptions& options) {
  return unpack(blob, root, options, Form::flat, OpaqueXattr::trusted);
}

UnpackResult unpack_overlay_lower(const fs::path& blob, const fs::path& root, const ReadOptions& options, OpaqueXattr opaque) {
  return unpack(blob, root, options, Form::overlay, opaque);
}

}  // namespace imgbuild::layer
