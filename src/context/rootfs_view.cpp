// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/rootfs_view.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/context/stat_cache.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

namespace fs = std::filesystem;

// Owns a DIR*; closes it on destruction.
class DirHandle {
 public:
  explicit DirHandle(const fs::path& path) : dir_(::opendir(path.c_str())) {
    if (!dir_) fail_errno(cat("cannot open directory ", path));
  }
  ~DirHandle() { ::closedir(dir_); }
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(const fs::path& directory) {
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    char value = 0;
    if (::lgetxattr(directory.c_str(), name, &value, 1) == 1 && value == 'y') return true;
  }
  return false;
}

// Reads the target of the symlink `name`, relative to `directory_fd`
// (AT_FDCWD for a full path). Returns false with errno set on failure.
bool read_link_at(int directory_fd, const char* name, const struct stat& st, std::string& target) {
  target.assign(static_cast<std::size_t>(st.st_size) + 1, '\0');
  ssize_t n = ::readlinkat(directory_fd, name, target.data(), target.size());
  if (n < 0) return false;
  target.resize(static_cast<std::size_t>(n));
  return true;
}

// Converts an lstat result. The caller fills `link_target` of a symlink.
std::optional<FileInfo> info_from_stat(const struct stat& st) {
  FileInfo info;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: info.type = layer::EntryType::regular; break;
    case S_IFDIR: info.type = layer::EntryType::directory; break;
    case S_IFLNK: info.type = layer::EntryType::symlink; break;
    case S_IFCHR: info.type = layer::EntryType::char_device; break;
    case S_IFBLK: info.type = layer::EntryType::block_device; break;
    case S_IFIFO: info.type = layer::EntryType::fifo; break;
    default: return std::nullopt;  // sockets cannot go into a layer
  }
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  if (info.type == layer::EntryType::regular) info.size = static_cast<std::uint64_t>(st.st_size);
  info.dev_major = major(st.st_rdev);
  info.dev_minor = minor(st.st_rdev);
  info.mtime = st.st_mtim.tv_sec;
  info.device = st.st_dev;
  info.inode = st.st_ino;
  info.nlink = static_cast<std::uint32_t>(st.st_nlink);
  info.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  info.ctime_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
  return info;
}

std::pair<std::string_view, std::string_view> split_last(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

RootfsView::RootfsView(std::vector<fs::path> lower_dirs_bottom_first, std::string name)
    : top_first_(lower_dirs_bottom_first.rbegin(), lower_dirs_bottom_first.rend()), name_(std::move(name)) {
  if (top_first_.empty()) fail("a rootfs view needs at least one directory");
}

RootfsView RootfsView::plain(const fs::path& directory, std::string name) {
  RootfsView view({directory}, name.empty() ? cat("directory ", quote(directory.string())) : std::move(name));
  view.overlay_ = false;
  return view;
}

RootfsView::RootfsView(RootfsView&&) noexcept = default;
RootfsView::~RootfsView() = default;

std::string RootfsView::describe() const { return name_; }

std::vector<fs::path> RootfsView::layers_of(std::string_view physical_path) const {
  if (physical_path.empty()) return top_first_;
  {
    std::lock_guard lock(*mutex_);
    if (auto it = directories_.find(physical_path); it != directories_.end()) return it->second;
  }

  auto [parent, name] = split_last(physical_path);
  std::vector<fs::path> result;
  for (const fs::path& directory : layers_of(parent)) {
    fs::path candidate = directory / name;
    struct stat st{};
    if (::lstat(candidate.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) break;  // a whiteout or a file hides what is below
    result.push_back(candidate);
    if (overlay_ && is_opaque(candidate)) break;
  }

  std::lock_guard lock(*mutex_);
  directories_.emplace(std::string(physical_path), result);
  return result;
}

std::string RootfsView::plain_host_path(std::string_view physical_path) const {
  const std::string& root = top_first_.front().native();
  std::string host;
  host.reserve(root.size() + 1 + physical_path.size());
  host.append(root);
  if (!physical_path.empty()) host.append(1, '/').append(physical_path);
  return host;
}

std::optional<fs::path> RootfsView::locate(std::string_view physical_path) const {
  if (physical_path.empty()) return top_first_.front();
  // One directory has no layers to pick from; callers find out about a
  // missing file when they stat or open it.
  if (!overlay_) return fs::path(plain_host_path(physical_path));
  auto [parent, name] = split_last(physical_path);
  for (const fs::path& directory : layers_of(parent)) {
    fs::path candidate = directory / name;
    struct stat st{};
    if (::lstat(candidate.c_str(), &st) != 0) continue;
    if (is_whiteout(st)) return std::nullopt;
    return candidate;
  }
  return std::nullopt;
}

std::optional<FileInfo> RootfsView::entry(std::string_view physical_path) const {
  std::optional<fs::path> host = locate(physical_path);
  if (!host) return std::nullopt;
  struct stat st{};
  if (::lstat(host->c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    fail_errno(cat("cannot stat ", *host));
  }
  std::optional<FileInfo> info = info_from_stat(st);
  if (info && info->type == layer::EntryType::symlink &&
      !read_link_at(AT_FDCWD, host->c_str(), st, info->link_target))
    fail_errno(cat("cannot read symlink ", *host));
  return info;
}

std::vector<std::string> RootfsView::list(std::string_view physical_path) const {
  std::vector<fs::path> layers = layers_of(physical_path);
  if (layers.empty())
    fail(quote(physical_path.empty() ? "/" : physical_path), " is not a directory in ", describe());

  std::set<std::string> seen;
  std::vector<std::string> names;
  for (const fs::path& directory : layers) {
    DirHandle dir(directory);
    while (struct dirent* item = ::readdir(dir.get())) {
      std::string name = item->d_name;
      if (name == "." || name == ".." || !seen.insert(name).second) continue;
      if (overlay_ && (item->d_type == DT_CHR || item->d_type == DT_UNKNOWN)) {
        struct stat st{};
        if (::lstat((directory / name).c_str(), &st) == 0 && is_whiteout(st)) continue;
      }
      names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<DirectoryEntry> RootfsView::scan(std::string_view physical_path) const {
  // Merged directories need the whiteout and opaque checks of `list`.
  if (overlay_) return SourceTree::scan(physical_path);

  fs::path host = *locate(physical_path);
  DirHandle dir(host);
  std::vector<DirectoryEntry> children;
  while (struct dirent* item = ::readdir(dir.get())) {
    std::string_view name = item->d_name;
    if (name == "." || name == "..") continue;
    children.push_back({std::string(name), std::nullopt});
  }
  std::sort(children.begin(), children.end(),
            [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });

  int fd = ::dirfd(dir.get());
  for (DirectoryEntry& child : children) {
    struct stat st{};
    if (::fstatat(fd, child.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since the listing
      fail_errno(cat("cannot stat ", host / child.name));
    }
    child.info = info_from_stat(st);
    if (child.info && child.info->type == layer::EntryType::symlink &&
        !read_link_at(fd, child.name.c_str(), st, child.info->link_target))
      fail_errno(cat("cannot read symlink ", host / child.name));
  }
  return children;
}

std::map<std::string, std::string> RootfsView::xattrs(std::string_view physical_path) const {
  std::map<std::string, std::string> result;
  std::optional<fs::path> host = locate(physical_path);
  if (!host) return result;

  ssize_t size = ::llistxattr(host->c_str(), nullptr, 0);
  if (size <= 0) return result;  // none, or a file system without xattrs
  std::string names(static_cast<std::size_t>(size), '\0');
  size = ::llistxattr(host->c_str(), names.data(), names.size());
  if (size < 0) fail_errno(cat("cannot list extended attributes of ", *host));
  names.resize(static_cast<std::size_t>(size));

  for (const std::string& name : split(names, '\0')) {
    if (name.empty() || !kept_xattr(name)) continue;
    ssize_t value_size = ::lgetxattr(host->c_str(), name.c_str(), nullptr, 0);
    if (value_size < 0) continue;  // removed since the listing
    std::string value(static_cast<std::size_t>(value_size), '\0');
    value_size = ::lgetxattr(host->c_str(), name.c_str(), value.data(), value.size());
    if (value_size < 0) fail_errno(cat("cannot read extended attribute ", name, " of ", *host));
    value.resize(static_cast<std::size_t>(value_size));
    result.emplace(name, std::move(value));
  }
  return result;
}

void RootfsView::attach_content(std::string_view physical_path, layer::Entry& entry) const {
  std::optional<fs::path> host = locate(physical_path);
  if (!host) fail(quote(physical_path), " not found in ", describe());
  entry.source = std::move(*host);
}

std::string RootfsView::read(std::string_view physical_path, std::size_t limit) const {
  std::optional<fs::path> host = locate(physical_path);
  if (!host) fail(quote(physical_path), " not found in ", describe());
  UniqueFd fd = open_file(*host, O_RDONLY | O_NOFOLLOW);
  std::string data;
  char buffer[65536];
  while (data.size() < limit) {
    ssize_t n = ::read(fd.get(), buffer, std::min(sizeof buffer, limit - data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(cat("cannot read ", *host));
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

ContentInfo RootfsView::content_info(std::string_view physical_path, const FileInfo& info) const {
  // A plain view builds the host path as a string, because this runs for
  // every file of every build and parsing a std::filesystem::path costs more
  // than the stat cache lookup.
  std::string host;
  if (overlay_) {
    std::optional<fs::path> located = locate(physical_path);
    if (!located) fail(quote(physical_path), " not found in ", describe());
    host = located->native();
  } else {
    host = plain_host_path(physical_path);
  }
  if (!stat_cache_) return hash_host_file(host);

  FileIdentity identity = identity_of(std::move(host), info);
  if (std::optional<ContentInfo> cached = stat_cache_->find(identity)) return *cached;
  std::int64_t started = now_ns();
  ContentInfo content = hash_host_file(identity.host_path);
  stat_cache_->put(identity, content, started);
  return content;
}

std::optional<std::string> RootfsView::readlink(std::string_view image_path) const {
  std::optional<FileInfo> info = lstat(image_path);
  if (!info || info->type != layer::EntryType::symlink) return std::nullopt;
  return info->link_target;
}

std::vector<std::string> RootfsView::list_directory(std::string_view image_path) const {
  std::optional<std::string> resolved = resolve(image_path);
  if (!resolved) fail(quote(image_path), " not found in ", describe());
  return list(*resolved);
}

UniqueFd RootfsView::open(std::string_view image_path) const {
  std::optional<std::string> resolved = resolve(image_path);
  std::optional<fs::path> host = resolved ? locate(*resolved) : std::nullopt;
  if (!host) fail(quote(image_path), " not found in ", describe());
  return open_file(*host, O_RDONLY | O_NOFOLLOW);
}

std::string RootfsView::read_file(std::string_view image_path) const {
  std::optional<std::string> resolved = resolve(image_path);
  if (!resolved || !locate(*resolved)) fail(quote(image_path), " not found in ", describe());
  return read(*resolved, static_cast<std::size_t>(-1));
}

fs::path RootfsView::host_path(std::string_view image_path) const {
  std::optional<std::string> resolved = resolve(image_path, false);
  std::optional<fs::path> host = resolved ? locate(*resolved) : std::nullopt;
  if (!host) fail(quote(image_path), " not found in ", describe());
  return *host;
}

}  // namespace imgbuild::context
