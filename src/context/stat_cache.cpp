// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/stat_cache.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/file.h>
#include <sys/stat.h>
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
// an older file is then dropped and rebuilt. Version 1 had no checksum.
//
// Layout: the header line, the byte order mark (u32), the record count (u64),
// the records, then the CRC-32 (u32) of everything before it. A record is
// the path (u32 length and bytes), then size, mtime, inode, ctime and hash
// time (64 bits each) and the private-key flag (u8). The digest follows as 64
// hex characters, then the xattr count (u32) and each name and value as u32
// length and bytes.
constexpr std::string_view file_header = "imgbuild-statcache 2\n";
constexpr std::string_view file_name = "stat-cache.bin";
constexpr std::string_view lock_name = "stat-cache.lock";
// Written after the header in host byte order, so a file from a machine of
// the other byte order reads it swapped and is dropped.
constexpr std::uint32_t byte_order_mark = 0x01020304;
constexpr std::size_t digest_hex_size = 64;

// CRC-32 of the file body. It catches damaged or cut files at memory speed,
// where a SHA-256 would add milliseconds to every build. The cache guards no
// secret, so it needs no protection against deliberate edits.
std::uint32_t checksum_of(std::string_view data) {
  return static_cast<std::uint32_t>(libdeflate_crc32(0, data.data(), data.size()));
}

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

// Reads a whole file in one buffer sized by fstat and returns its stat
// result; returns nothing when the file does not exist.
std::optional<struct stat> read_whole_file(const std::filesystem::path& path, std::string& data) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::nullopt;
  if (fd < 0) fail_errno(cat("cannot open ", path));
  UniqueFd owner(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) fail_errno(cat("cannot stat ", path));
  // One byte more than the size, so the read that finds the end needs no growth.
  data.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t done = 0;
  while (true) {
    if (done == data.size()) data.resize(done + 65536);  // the file grew since fstat
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(cat("cannot read ", path));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return st;
}

// Holds an exclusive flock(2) on an open file until destruction.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(const std::filesystem::path& path) : fd_(open_file(path, O_RDWR | O_CREAT, 0600)) {
    while (::flock(fd_.get(), LOCK_EX) != 0)
      if (errno != EINTR) fail_errno(cat("cannot lock ", path));
  }

 private:
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FileIdentity identity_of(const std::filesystem::path& host_path, const FileInfo& info) {
  return identity_of(host_path.string(), info);
}

FileIdentity identity_of(std::string host_path, const FileInfo& info) {
  return {std::move(host_path), info.size, info.mtime_ns, info.inode, info.ctime_ns};
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
  // A damaged or outdated file is replaced on the next save even when no
  // record changes.
  if (!read_into(loaded_, loaded_version_)) dirty_ = loaded_version_.has_value();
}

StatCache::~StatCache() = default;

StatCache::FileVersion StatCache::version_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

bool StatCache::read_into(Table& table, std::optional<FileVersion>& version) const {
  std::string data;
  std::optional<struct stat> st = read_whole_file(file_, data);
  version = st ? std::optional(version_of(*st)) : std::nullopt;
  if (!st) return false;
  std::string_view view = data;
  if (!view.starts_with(file_header)) {
    log::debug(cat("stat cache ", quote(file_.string()), " has another format version; starting a new one"));
    return false;
  }
  auto damaged = [this](std::string_view why) {
    log::warn(cat("stat cache ", quote(file_.string()), " is invalid (", why, "), so every file is hashed again"));
    return false;
  };
  if (view.size() < file_header.size() + sizeof(std::uint32_t)) return damaged("too short");
  std::string_view body = view.substr(0, view.size() - sizeof(std::uint32_t));
  std::uint32_t stored_checksum = 0;
  std::memcpy(&stored_checksum, view.data() + body.size(), sizeof stored_checksum);
  if (checksum_of(body) != stored_checksum) return damaged("checksum mismatch");

  Reader reader{body.substr(file_header.size())};
  if (reader.get<std::uint32_t>() != byte_order_mark) return damaged("written with another byte order");
  auto count = reader.get<std::uint64_t>();
  Table records;
  records.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, body.size() / 64)));
  for (std::uint64_t i = 0; i < count && reader.ok; ++i) {
    std::string_view path = reader.bytes(reader.get<std::uint32_t>());
    Record record{};
    record.size = reader.get<std::uint64_t>();
    record.mtime_ns = reader.get<std::int64_t>();
    record.inode = reader.get<std::uint64_t>();
    record.ctime_ns = reader.get<std::int64_t>();
    record.hashed_at_ns = reader.get<std::int64_t>();
    record.content.private_key_header = reader.get<std::uint8_t>() != 0;
    record.content.digest.hex = std::string(reader.bytes(digest_hex_size));
    auto xattr_count = reader.get<std::uint32_t>();
    for (std::uint32_t k = 0; k < xattr_count && reader.ok; ++k) {
      std::string name(reader.bytes(reader.get<std::uint32_t>()));
      std::string value(reader.bytes(reader.get<std::uint32_t>()));
      record.content.xattrs.emplace(std::move(name), std::move(value));
    }
    if (reader.ok) records.emplace(path, std::move(record));
  }
  if (!reader.ok || !reader.data.empty()) return damaged("records do not match the record count");
  table = std::move(records);
  return true;
}

bool StatCache::trusted(const Record& record, const FileIdentity& identity) const {
  return record.size == identity.size && record.mtime_ns == identity.mtime_ns && record.inode == identity.inode &&
         record.ctime_ns == identity.ctime_ns && record.hashed_at_ns - record.ctime_ns >= racy_window_ns_ &&
         record.hashed_at_ns - record.mtime_ns >= racy_window_ns_;
}

std::optional<ContentInfo> StatCache::find(const FileIdentity& identity) const {
  if (auto it = loaded_.find(identity.host_path); it != loaded_.end() && trusted(it->second, identity)) {
    ++hits_;
    return it->second.content;
  }
  {
    std::lock_guard lock(mutex_);
    if (auto it = fresh_.find(identity.host_path); it != fresh_.end() && trusted(it->second, identity)) {
      ++hits_;
      return it->second.content;
    }
  }
  ++misses_;
  return std::nullopt;
}

void StatCache::put(const FileIdentity& identity, const ContentInfo& content, std::int64_t hashed_at_ns) {
  std::lock_guard lock(mutex_);
  fresh_.insert_or_assign(identity.host_path, Record{identity.size, identity.mtime_ns, identity.inode,
                                                     identity.ctime_ns, hashed_at_ns, content});
  dirty_ = true;
}

std::size_t StatCache::size() const {
  std::lock_guard lock(mutex_);
  std::size_t count = loaded_.size();
  for (const auto& [path, record] : fresh_)
    if (!loaded_.contains(path)) ++count;
  return count;
}

void StatCache::save() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  std::filesystem::create_directories(file_.parent_path());
  ExclusiveLock file_lock(file_.parent_path() / lock_name);

  // Another build may have saved since this one loaded. Its file contains
  // everything this one loaded or newer, so it is the base, and the records
  // hashed here go on top.
  Table merged = loaded_;
  struct stat st{};
  bool replaced = ::stat(file_.c_str(), &st) == 0 && (!loaded_version_ || version_of(st) != *loaded_version_);
  std::optional<FileVersion> saved_version;
  if (replaced && !read_into(merged, saved_version)) merged = loaded_;
  for (const auto& [path, record] : fresh_) merged.insert_or_assign(path, record);

  std::string out(file_header);
  out.reserve(file_header.size() + merged.size() * 160);
  put_raw(out, byte_order_mark);
  std::size_t count_at = out.size();
  put_raw(out, std::uint64_t{0});
  std::uint64_t count = 0;
  for (const auto& [path, record] : merged) {
    if (record.content.digest.hex.size() != digest_hex_size) continue;  // the reader expects fixed-size digests
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
    ++count;
  }
  std::memcpy(out.data() + count_at, &count, sizeof count);
  put_raw(out, checksum_of(out));
  // TODO: records of deleted files stay until the cache directory is removed.
  write_file_atomic(file_, out, 0600);
  dirty_ = false;
}

}  // namespace imgbuild::context
