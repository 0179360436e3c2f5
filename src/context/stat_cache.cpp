// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/stat_cache.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/xattr.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

// Bump the version when the record layout or the meaning of a field changes;
// an older file is then dropped and rebuilt.
constexpr std::string_view file_header = "imgbuild-statcache 1\n";
constexpr std::string_view file_name = "stat-cache.bin";

template <typename Value>
void put_raw(std::string& out, Value value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads fixed-size fields from the cache file; `ok` turns false on a short file.
struct Reader {
  std::string_view data;
  bool ok = true;

  template <typename Value>
  Value get() {
    Value value{};
    if (data.size() < sizeof value) {
      ok = false;
      return value;
    }
    std::memcpy(&value, data.data(), sizeof value);
    data.remove_prefix(sizeof value);
    return value;
  }

  std::string_view bytes(std::size_t count) {
    if (data.size() < count) {
      ok = false;
      return {};
    }
    std::string_view result = data.substr(0, count);
    data.remove_prefix(count);
    return result;
  }
};

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FileIdentity identity_of(const std::filesystem::path& host_path, const FileInfo& info) {
  return {host_path.string(), info.size, info.mtime_ns, info.inode, info.ctime_ns};
}

// Reads the kept xattrs of an open file.
std::map<std::string, std::string> read_xattrs(int fd, const std::filesystem::path& host_path) {
  std::map<std::string, std::string> result;
  ssize_t size = ::flistxattr(fd, nullptr, 0);
  if (size <= 0) return result;  // none, or a file system without xattrs
  std::string names(static_cast<std::size_t>(size), '\0');
  size = ::flistxattr(fd, names.data(), names.size());
  if (size < 0) fail_errno(cat("cannot list extended attributes of ", host_path));
  names.resize(static_cast<std::size_t>(size));

  for (const std::string& name : split(names, '\0')) {
    if (name.empty() || !kept_xattr(name)) continue;
    ssize_t value_size = ::fgetxattr(fd, name.c_str(), nullptr, 0);
    if (value_size < 0) continue;  // removed since the listing
    std::string value(static_cast<std::size_t>(value_size), '\0');
    value_size = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (value_size < 0) fail_errno(cat("cannot read extended attribute ", name, " of ", host_path));
    value.resize(static_cast<std::size_t>(value_size));
    result.emplace(name, std::move(value));
  }
  return result;
}

ContentInfo hash_host_file(const std::filesystem::path& host_path) {
  UniqueFd fd = open_file(host_path, O_RDONLY | O_NOFOLLOW);
  Sha256 hash;
  std::vector<char> buffer(1 << 18);
  std::string head;
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(cat("cannot read ", host_path));
    if (n == 0) break;
    if (head.size() < private_key_scan_bytes)
      head.append(buffer.data(), std::min<std::size_t>(static_cast<std::size_t>(n),
                                                       private_key_scan_bytes - head.size()));
    hash.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return {hash.finish(), has_private_key_header(head), read_xattrs(fd.get(), host_path)};
}

StatCache::StatCache(std::filesystem::path directory, std::int64_t racy_window_ns)
    : file_(std::move(directory) / file_name), racy_window_ns_(racy_window_ns) {
  load();
}

StatCache::~StatCache() = default;

void StatCache::load() {
  std::error_code error;
  if (!std::filesystem::exists(file_, error)) return;
  std::string data = read_file(file_);
  if (!std::string_view(data).starts_with(file_header)) {
    log::debug(cat("stat cache ", quote(file_.string()), " has another format version; starting a new one"));
    return;
  }

  Reader reader{std::string_view(data).substr(file_header.size())};
  while (!reader.data.empty() && reader.ok) {
    auto path_size = reader.get<std::uint32_t>();
    std::string path(reader.bytes(path_size));
    Record record{};
    record.size = reader.get<std::uint64_t>();
    record.mtime_ns = reader.get<std::int64_t>();
    record.inode = reader.get<std::uint64_t>();
    record.ctime_ns = reader.get<std::int64_t>();
    record.hashed_at_ns = reader.get<std::int64_t>();
    record.content.private_key_header = reader.get<std::uint8_t>() != 0;
    record.content.digest.hex = std::string(reader.bytes(64));
    auto xattr_count = reader.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < xattr_count && reader.ok; ++i) {
      std::string name(reader.bytes(reader.get<std::uint32_t>()));
      std::string value(reader.bytes(reader.get<std::uint32_t>()));
      record.content.xattrs.emplace(std::move(name), std::move(value));
    }
    if (reader.ok) records_.emplace(std::move(path), std::move(record));
  }
  if (!reader.ok) {
    log::warn(cat("stat cache ", quote(file_.string()), " is truncated; files not listed in it will be hashed again"));
    dirty_ = true;
  }
}

std::optional<ContentInfo> StatCache::find(const FileIdentity& identity) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(identity.host_path);
  bool hit = it != records_.end();
  if (hit) {
    const Record& record = it->second;
    hit = record.size == identity.size && record.mtime_ns == identity.mtime_ns &&
          record.inode == identity.inode && record.ctime_ns == identity.ctime_ns &&
          record.hashed_at_ns - record.ctime_ns >= racy_window_ns_ &&
          record.hashed_at_ns - record.mtime_ns >= racy_window_ns_;
  }
  if (!hit) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return it->second.content;
}

void StatCache::put(const FileIdentity& identity, const ContentInfo& content, std::int64_t hashed_at_ns) {
  std::lock_guard lock(mutex_);
  records_[identity.host_path] = Record{identity.size, identity.mtime_ns, identity.inode,
                                        identity.ctime_ns, hashed_at_ns, content};
  dirty_ = true;
}

std::size_t StatCache::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

void StatCache::save() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;

  std::string out(file_header);
  out.reserve(file_header.size() + records_.size() * 160);
  for (const auto& [path, record] : records_) {
    put_raw(out, static_cast<std::uint32_t>(path.size()));
    out.append(path);
    put_raw(out, record.size);
    put_raw(out, record.mtime_ns);
    put_raw(out, record.inode);
    put_raw(out, record.ctime_ns);
    put_raw(out, record.hashed_at_ns);
    put_raw(out, static_cast<std::uint8_t>(record.content.private_key_header ? 1 : 0));
    out.append(record.content.digest.hex);
    put_raw(out, static_cast<std::uint32_t>(record.content.xattrs.size()));
    for (const auto& [name, value] : record.content.xattrs) {
      put_raw(out, static_cast<std::uint32_t>(name.size()));
      out.append(name);
      put_raw(out, static_cast<std::uint32_t>(value.size()));
      out.append(value);
    }
  }
  // TODO: records of deleted files stay until the cache directory is removed.
  std::filesystem::create_directories(file_.parent_path());
  write_file_atomic(file_, out, 0600);
  dirty_ = false;
}

}  // namespace imgbuild::context
