// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/scan.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <dirent.h>
#include <iterator>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "imgbuild/layer/order.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::layer {
namespace {

namespace fs = std::filesystem;

bool is_overlay_private(std::string_view name) {
  return starts_with(name, "trusted.overlay.") || starts_with(name, "user.overlay.");
}

// Returns all xattrs of `path` (not following a symlink), including the
// overlay-private ones; callers drop those.
std::map<std::string, std::string> read_xattrs(const fs::path& path) {
  std::map<std::string, std::string> xattrs;
  ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  if (size <= 0) return xattrs;
  std::string names(static_cast<std::size_t>(size), '\0');
  size = ::llistxattr(path.c_str(), names.data(), names.size());
  if (size < 0) fail_errno(cat("cannot list the xattrs of ", path));
  names.resize(static_cast<std::size_t>(size));

  for (std::size_t start = 0; start < names.size();) {
    std::string name = names.c_str() + start;
    start += name.size() + 1;
    ssize_t length = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (length < 0) continue;  // removed meanwhile, or not readable here
    std::string value(static_cast<std::size_t>(length), '\0');
    length = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (length < 0) continue;
    value.resize(static_cast<std::size_t>(length));
    xattrs[name] = value;
  }
  return xattrs;
}

bool is_opaque(const std::map<std::string, std::string>& xattrs) {
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    auto found = xattrs.find(name);
    if (found != xattrs.end() && found->second == "y") return true;
  }
  return false;
}

std::vector<std::string> sorted_children(const fs::path& directory) {
  DIR* handle = ::opendir(directory.c_str());
  if (handle == nullptr) fail_errno(cat("cannot read directory ", directory));
  std::vector<std::string> names;
  while (dirent* item = ::readdir(handle)) {
    std::string name = item->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

struct Identity {
  dev_t device;
  ino_t inode;
  auto operator<=>(const Identity&) const = default;
};

// Entries found by one scanning thread. `identities` maps an index into
// `entries` to the inode of a name with nlink > 1.
struct Found {
  std::vector<Entry> entries;
  std::map<std::size_t, Identity> identities;
};

class Scanner {
 public:
  Scanner(const ScanOptions& options, bool overlay_upper) : options_(options), overlay_upper_(overlay_upper) {}

  // Reads the tree below `root` on `threads` threads, the caller's among
  // them, which take directories from a shared stack. The order in which
  // they find entries does not matter because finish() sorts them.
  void walk(const fs::path& root, unsigned threads) {
    pending_.push_back({root, ""});
    std::vector<Found> found(threads);
    std::vector<std::thread> helpers;
    for (unsigned i = 1; i < threads; ++i) {
      try {
        helpers.emplace_back([this, &found, i] { work(found[i]); });
      } catch (const std::system_error&) {
        break;  // out of threads: the ones started share the work
      }
    }
    work(found[0]);
    for (auto& helper : helpers) helper.join();
    if (error_) std::rethrow_exception(error_);

    for (Found& part : found) {
      std::size_t offset = entries_.size();
      for (auto& [index, identity] : part.identities) identities_[offset + index] = identity;
      std::move(part.entries.begin(), part.entries.end(), std::back_inserter(entries_));
    }
  }

  // Entries in layer order, each inode's first name holding the content.
  std::vector<Entry> finish() {
    std::vector<std::size_t> order(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return path_before(entries_[a].path, entries_[b].path); });

    std::map<Identity, std::string> first_names;
    std::vector<Entry> sorted;
    sorted.reserve(entries_.size());
    for (std::size_t index : order) {
      Entry entry = std::move(entries_[index]);
      if (auto identity = identities_.find(index); identity != identities_.end()) {
        auto [first, inserted] = first_names.emplace(identity->second, entry.path);
        if (!inserted) {
          entry.type = EntryType::hardlink;
          entry.link_target = first->second;
          entry.size = 0;
          entry.source.clear();
        }
      }
      sorted.push_back(std::move(entry));
    }
    return sorted;
  }

 private:
  bool excluded(const std::string& relative) const {
    return std::any_of(options_.exclude.begin(), options_.exclude.end(),
                       [&](const std::string& pattern) { return glob_match(pattern, relative); });
  }

  struct Directory {
    fs::path full;
    std::string relative;
  };

  // Reads directories until none is left or a thread has failed. A thread
  // waits while the stack is empty but others still read directories that
  // may add subdirectories to it.
  void work(Found& found) {
    while (true) {
      Directory directory;
      {
        std::unique_lock lock(mutex_);
        pending_changed_.wait(lock, [&] { return error_ || !pending_.empty() || busy_ == 0; });
        if (error_ || pending_.empty()) return;
        directory = std::move(pending_.back());
        pending_.pop_back();
        ++busy_;
      }
      std::vector<Directory> subdirectories;
      std::exception_ptr error;
      try {
        read_directory(directory, found, subdirectories);
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        if (error && !error_) error_ = error;
        std::move(subdirectories.begin(), subdirectories.end(), std::back_inserter(pending_));
        --busy_;
      }
      pending_changed_.notify_all();
    }
  }

  void read_directory(const Directory& directory, Found& found, std::vector<Directory>& subdirectories) {
    for (const std::string& name : sorted_children(directory.full)) {
      std::string relative = directory.relative.empty() ? name : directory.relative + "/" + name;
      if (excluded(relative)) continue;
      fs::path full = directory.full / name;
      struct stat info {};
      if (::lstat(full.c_str(), &info) != 0) fail_errno(cat("cannot stat ", full));
      if (add(found, full, relative, info) && S_ISDIR(info.st_mode)) subdirectories.push_back({full, relative});
    }
  }

  // Adds the entry for `full`; returns false when it was skipped.
  bool add(Found& found, const fs::path& full, const std::string& relative, const struct stat& info) {
    if (S_ISSOCK(info.st_mode)) {
      log::warn(cat("skipping socket ", full, ": sockets cannot be stored in a layer"));
      return false;
    }
    if (overlay_upper_ && S_ISCHR(info.st_mode) && info.st_rdev == makedev(0, 0)) {
      found.entries.push_back(whiteout(relative));
      return false;
    }

    Entry entry;
    entry.path = relative;
    entry.mode = info.st_mode & 07777;
    entry.uid = info.st_uid;
    entry.gid = info.st_gid;
    entry.mtime = info.st_mtim.tv_sec;
    auto xattrs = read_xattrs(full);
    bool opaque = overlay_upper_ && S_ISDIR(info.st_mode) && is_opaque(xattrs);
    for (auto& [name, value] : xattrs) {
      if (!is_overlay_private(name)) entry.xattrs.emplace(name, std::move(value));
    }

    set_type(entry, full, info);
    if (!S_ISDIR(info.st_mode) && info.st_nlink > 1) found.identities[found.entries.size()] = {info.st_dev, info.st_ino};
    found.entries.push_back(std::move(entry));
    if (opaque) found.entries.push_back(opaque_marker(relative));
    return true;
  }

  static void set_type(Entry& entry, const fs::path& full, const struct stat& info) {
    switch (info.st_mode & S_IFMT) {
      case S_IFREG:
        entry.type = EntryType::regular;
        entry.size = static_cast<std::uint64_t>(info.st_size);
        entry.source = full;
        return;
      case S_IFDIR:
        entry.type = EntryType::directory;
        return;
      case S_IFLNK: {
        entry.type = EntryType::symlink;
        std::string target(static_cast<std::size_t>(info.st_size) + 1, '\0');
        ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
        if (n < 0) fail_errno(cat("cannot read symlink ", full));
        target.resize(static_cast<std::size_t>(n));
        entry.link_target = target;
        return;
      }
      case S_IFIFO:
        entry.type = EntryType::fifo;
        return;
      case S_IFCHR:
      case S_IFBLK:
        entry.type = S_ISCHR(info.st_mode) ? EntryType::char_device : EntryType::block_device;
        entry.dev_major = major(info.st_rdev);
        entry.dev_minor = minor(info.st_rdev);
        return;
      default:
        fail("cannot store ", full, " in a layer: unsupported file type");
    }
  }

  const ScanOptions& options_;
  bool overlay_upper_;
  std::vector<Entry> entries_;
  std::map<std::size_t, Identity> identities_;  // entry index -> inode, for names with nlink > 1

  std::mutex mutex_;
  std::condition_variable pending_changed_;
  std::vector<Directory> pending_;  // directories not read yet
  unsigned busy_ = 0;               // threads reading a directory
  std::exception_ptr error_;        // the first failure of any thread
};

std::vector<Entry> scan(const fs::path& root, const ScanOptions& options, bool overlay_upper) {
  struct stat info {};
  if (::lstat(root.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    fail("cannot scan ", root, ": it is not a directory");
  Scanner scanner(options, overlay_upper);
  scanner.walk(root, std::max(1u, std::thread::hardware_concurrency()));
  return scanner.finish();
}

}  // namespace

std::vector<Entry> scan_tree(const fs::path& root, const ScanOptions& options) { return scan(root, options, false); }

std::vector<Entry> changes_from_overlay_upper(const fs::path& upper, const ScanOptions& options) {
  return scan(upper, options, true);
}

}  // namespace imgbuild::layer
