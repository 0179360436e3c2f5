// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "imgbuild/context/source_tree.hpp"

namespace imgbuild::context {

// Identity of one version of a host file, known without reading it. A write
// changes ctime (and usually mtime and size), and a replaced file gets a new
// inode, so a changed byte with restored size and mtime still misses.
struct FileIdentity {
  std::string host_path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
  std::int64_t ctime_ns = 0;
};

FileIdentity identity_of(const std::filesystem::path& host_path, const FileInfo& info);

// Content hashes and xattrs of host files keyed by FileIdentity, kept in one file under
// the directory it is given (the build passes `store.root()/"statcache"`).
// Loaded once on construction, written atomically by `save`. Thread-safe.
//
// A record whose file changed less than `racy_window` before it was hashed
// is not trusted: a write in the same timestamp tick would leave size, mtime
// and ctime unchanged. Such files are hashed again until they are older.
class StatCache {
 public:
  explicit StatCache(std::filesystem::path directory, std::int64_t racy_window_ns = 2'000'000'000);
  ~StatCache();

  std::optional<ContentInfo> find(const FileIdentity& identity) const;
  void put(const FileIdentity& identity, const ContentInfo& content, std::int64_t hashed_at_ns);

  // Writes the cache when something changed since it was loaded.
  void save();

  std::size_t size() const;
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  struct Record {
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::uint64_t inode;
    std::int64_t ctime_ns;
    std::int64_t hashed_at_ns;
    ContentInfo content;
  };

  void load();

  std::filesystem::path file_;
  std::int64_t racy_window_ns_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
  bool dirty_ = false;
  mutable std::uint64_t hits_ = 0;
  mutable std::uint64_t misses_ = 0;
};

// Hashes a host file in one pass, checks its start for a private-key header
// and reads its xattrs. Opens with O_NOFOLLOW so a symlink swapped in is
// never read.
ContentInfo hash_host_file(const std::filesystem::path& host_path);

// Returns the current wall-clock time in nanoseconds since the epoch.
std::int64_t now_ns();

}  // namespace imgbuild::context
