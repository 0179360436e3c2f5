// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/stat_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
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

// Bump the version when the layout or the meaning of a field changes, so an
// older file is dropped and rebuilt. Version 1 had no checksum, version 2 no
// slot table, and version 3 had 64-bit slots and records in hash order.
//
// Layout: the header line, the byte order mark (u32), the slot count (u64, a
// power of two), the record count (u64), the slot table, the records, then
// the CRC-32 (u32) of everything before it. A slot is the file offset of a
// record (u32), or 0 when empty. A record sits in the slot its path hashes
// to (see slot_hash), or in the next free one after it. Records follow in
// byte order of their paths, which is about the order a plan looks them up,
// so the reads go forward through the file. A record is the path (u32
// length and bytes), then size, mtime, inode, ctime and hash time (64 bits
// each) and the private-key flag (u8). The raw 32-byte SHA-256 follows, then
// the xattr count (u32) and each name and value as u32 length and bytes.
constexpr std::string_view file_header = "imgbuild-statcache 4\n";
constexpr std::string_view file_name = "stat-cache.bin";
constexpr std::string_view lock_name = "stat-cache.lock";
// Written after the header in host byte order, so a file from a machine of
// the other byte order reads it swapped and is dropped.
constexpr std::uint32_t byte_order_mark = 0x01020304;
constexpr std::size_t digest_size = 32;
// Size of the header line, byte order mark and the two counts.
constexpr std::size_t table_at = file_header.size() + 4 + 8 + 8;

// Hashes a path to its first slot, eight bytes per step with a multiply and
// a shift per word. Defined here, because the file outlives the process and
// std::hash may differ between library versions.
std::uint64_t slot_hash(std::string_view path) {
  std::uint64_t hash = 0x9e3779b97f4a7c15ULL ^ path.size();
  std::size_t at = 0;
  for (; at + 8 <= path.size(); at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, path.data() + at, 8);
    hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
    hash ^= hash >> 32;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, path.data() + at, path.size() - at);
  hash = (hash ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  return hash ^ (hash >> 33);
}

using Slot = std::uint32_t;

// Converts 64 hex digits to 32 bytes. Returns false on any other text.
bool hex_to_bytes(std::string_view hex, char* bytes) {
  if (hex.size() != 2 * digest_size) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < digest_size; ++i) {
    int high = nibble(hex[2 * i]);
    int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    bytes[i] = static_cast<char>(high << 4 | low);
  }
  return true;
}

std::string bytes_to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(2 * bytes.size(), '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto byte = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = digits[byte >> 4];
    hex[2 * i + 1] = digits[byte & 15];
  }
  return hex;
}

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
// result, or nothing when the file does not exist.
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
  if (!read(loaded_, loaded_version_)) dirty_ = loaded_version_.has_value();
}

StatCache::~StatCache() = default;

StatCache::FileVersion StatCache::version_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

bool StatCache::read(LoadedFile& file, std::optional<FileVersion>& version) const {
  LoadedFile result;
  std::optional<struct stat> st = read_whole_file(file_, result.data);
  version = st ? std::optional(version_of(*st)) : std::nullopt;
  if (!st) return false;
  std::string_view view = result.data;
  if (!view.starts_with(file_header)) {
    log::debug(cat("stat cache ", quote(file_.string()), " has another format version; starting a new one"));
    return false;
  }
  auto damaged = [this](std::string_view why) {
    log::warn(cat("stat cache ", quote(file_.string()), " is invalid (", why, "), so every file is hashed again"));
    return false;
  };
  if (view.size() < table_at + sizeof(std::uint32_t)) return damaged("too short");
  std::string_view body = view.substr(0, view.size() - sizeof(std::uint32_t));
  std::uint32_t stored_checksum = 0;
  std::memcpy(&stored_checksum, view.data() + body.size(), sizeof stored_checksum);
  if (checksum_of(body) != stored_checksum) return damaged("checksum mismatch");

  Reader reader{body.substr(file_header.size())};
  if (reader.get<std::uint32_t>() != byte_order_mark) return damaged("written with another byte order");
  result.slot_count = reader.get<std::uint64_t>();
  result.record_count = reader.get<std::uint64_t>();
  result.slots_at = table_at;
  bool power_of_two = result.slot_count != 0 && (result.slot_count & (result.slot_count - 1)) == 0;
  if (!power_of_two || result.record_count >= result.slot_count ||
      result.slot_count > (body.size() - table_at) / sizeof(Slot))
    return damaged("invalid slot table");
  // Records are parsed on lookup, with bounds checks, so a record that does
  // not fit reads as missing.
  file = std::move(result);
  return true;
}

bool StatCache::parse_record(std::string_view data, std::uint64_t offset, std::string_view& path, Record& record) {
  if (offset >= data.size()) return false;
  Reader reader{data.substr(offset)};
  path = reader.bytes(reader.get<std::uint32_t>());
  record.size = reader.get<std::uint64_t>();
  record.mtime_ns = reader.get<std::int64_t>();
  record.inode = reader.get<std::uint64_t>();
  record.ctime_ns = reader.get<std::int64_t>();
  record.hashed_at_ns = reader.get<std::int64_t>();
  record.content.private_key_header = reader.get<std::uint8_t>() != 0;
  record.content.digest.hex = bytes_to_hex(reader.bytes(digest_size));
  auto xattr_count = reader.get<std::uint32_t>();
  for (std::uint32_t k = 0; k < xattr_count && reader.ok; ++k) {
    std::string name(reader.bytes(reader.get<std::uint32_t>()));
    std::string value(reader.bytes(reader.get<std::uint32_t>()));
    record.content.xattrs.emplace(std::move(name), std::move(value));
  }
  return reader.ok;
}

std::optional<StatCache::Record> StatCache::lookup(const LoadedFile& file, std::string_view path) {
  if (file.slot_count == 0) return std::nullopt;
  std::string_view data = file.data;
  std::uint64_t mask = file.slot_count - 1;
  // The load factor stays at or below one half, so a search ends at an
  // empty slot after a few probes. The bound guards against a damaged table.
  for (std::uint64_t probe = 0, slot = slot_hash(path) & mask; probe < file.slot_count;
       ++probe, slot = (slot + 1) & mask) {
    Slot offset = 0;
    std::memcpy(&offset, data.data() + file.slots_at + slot * sizeof offset, sizeof offset);
    if (offset == 0) return std::nullopt;

    // Compare the path before parsing the rest.
    std::uint32_t length = 0;
    if (offset > data.size() - sizeof length) return std::nullopt;
    std::memcpy(&length, data.data() + offset, sizeof length);
    if (data.substr(offset + sizeof length, length) != path) continue;

    std::string_view stored_path;
    Record record{};
    if (!parse_record(data, offset, stored_path, record)) return std::nullopt;
    return record;
  }
  return std::nullopt;
}

void StatCache::collect(const LoadedFile& file, Table& table) {
  std::string_view data = file.data;
  for (std::uint64_t slot = 0; slot < file.slot_count; ++slot) {
    Slot offset = 0;
    std::memcpy(&offset, data.data() + file.slots_at + slot * sizeof offset, sizeof offset);
    std::string_view path;
    Record record{};
    if (offset != 0 && parse_record(data, offset, path, record))
      table.insert_or_assign(std::string(path), std::move(record));
  }
}

bool StatCache::trusted(const Record& record, const FileIdentity& identity) const {
  return record.size == identity.size && record.mtime_ns == identity.mtime_ns && record.inode == identity.inode &&
         record.ctime_ns == identity.ctime_ns && record.hashed_at_ns - record.ctime_ns >= racy_window_ns_ &&
         record.hashed_at_ns - record.mtime_ns >= racy_window_ns_;
}

std::optional<ContentInfo> StatCache::find(const FileIdentity& identity) const {
  if (std::optional<Record> record = lookup(loaded_, identity.host_path); record && trusted(*record, identity)) {
    ++hits_;
    return std::move(record->content);
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
  std::size_t count = loaded_.record_count;
  for (const auto& [path, record] : fresh_)
    if (!lookup(loaded_, path)) ++count;
  return count;
}

std::string StatCache::encode(const Table& table) {
  std::uint64_t slot_count = 16;
  while (slot_count < 2 * table.size()) slot_count *= 2;

  std::vector<const Table::value_type*> sorted;
  sorted.reserve(table.size());
  for (const auto& item : table) sorted.push_back(&item);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });

  std::string records;
  records.reserve(table.size() * 120);
  std::vector<Slot> slots(slot_count, 0);
  std::uint64_t records_at = table_at + slot_count * sizeof(Slot);
  std::uint64_t count = 0;
  char digest[digest_size];
  for (const auto* item : sorted) {
    const auto& [path, record] = *item;
    if (!hex_to_bytes(record.content.digest.hex, digest)) continue;  // never produced by hash_host_file
    std::uint64_t offset = records_at + records.size();
    // NOTE: records that would start past 4 GiB, some 25 million files in, are left out.
    if (offset > std::numeric_limits<Slot>::max()) break;
    std::uint64_t slot = slot_hash(path) & (slot_count - 1);
    while (slots[slot] != 0) slot = (slot + 1) & (slot_count - 1);
    slots[slot] = static_cast<Slot>(offset);
    ++count;

    put_raw(records, static_cast<std::uint32_t>(path.size()));
    records.append(path);
    put_raw(records, record.size);
    put_raw(records, record.mtime_ns);
    put_raw(records, record.inode);
    put_raw(records, record.ctime_ns);
    put_raw(records, record.hashed_at_ns);
    put_raw(records, static_cast<std::uint8_t>(record.content.private_key_header ? 1 : 0));
    records.append(digest, digest_size);
    put_raw(records, static_cast<std::uint32_t>(record.content.xattrs.size()));
    for (const auto& [name, value] : record.content.xattrs) {
      put_raw(records, static_cast<std::uint32_t>(name.size()));
      records.append(name);
      put_raw(records, static_cast<std::uint32_t>(value.size()));
      records.append(value);
    }
  }

  std::string out(file_header);
  out.reserve(records_at + records.size() + sizeof(std::uint32_t));
  put_raw(out, byte_order_mark);
  put_raw(out, slot_count);
  put_raw(out, count);
  out.append(reinterpret_cast<const char*>(slots.data()), slots.size() * sizeof(Slot));
  out.append(records);
  put_raw(out, checksum_of(out));
  return out;
}

void StatCache::save() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  std::filesystem::create_directories(file_.parent_path());
  ExclusiveLock file_lock(file_.parent_path() / lock_name);

  // Another build may have saved since this one loaded. Its file contains
  // everything this one loaded or newer, so it is the base, and the records
  // hashed here go on top.
  Table merged;
  struct stat st{};
  bool replaced = ::stat(file_.c_str(), &st) == 0 && (!loaded_version_ || version_of(st) != *loaded_version_);
  LoadedFile saved;
  std::optional<FileVersion> saved_version;
  collect(replaced && read(saved, saved_version) ? saved : loaded_, merged);
  for (const auto& [path, record] : fresh_) merged.insert_or_assign(path, record);

  // TODO: records of deleted files stay until the cache directory is removed.
  write_file_atomic(file_, encode(merged), 0600);
  dirty_ = false;
}

}  // namespace imgbuild::context
