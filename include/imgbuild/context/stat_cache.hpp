// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "imgbuild/context/source_tree.hpp"

struct stat;

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
FileIdentity identity_of(std::string host_path, const FileInfo& info);

// Content hashes and xattrs of host files keyed by FileIdentity, kept in one file under
// the directory it is given (the build passes `store.root()/"statcache"`).
// Read once on construction, written by `save`. The file is a hash table
// keyed by host path, searched in place, so loading parses no record.
// Thread-safe: lookups in the loaded file take no lock, so hashing threads
// do not queue on a hit.
//
// A record whose file changed less than `racy_window` before it was hashed
// is not trusted: a write in the same timestamp tick would leave size, mtime
// and ctime unchanged. Such files are hashed again until they are older.
//
// The file ends in a CRC-32 of its contents. A file of another format
// version, or one that fails that check or does not parse, is dropped whole
// and rebuilt, so a damaged record is never read as a valid digest.
class StatCache {
 public:
  explicit StatCache(std::filesystem::path directory, std::int64_t racy_window_ns = 2'000'000'000);
  ~StatCache();

  std::optional<ContentInfo> find(const FileIdentity& identity) const;
  void put(const FileIdentity& identity, const ContentInfo& content, std::int64_t hashed_at_ns);

  // Writes the cache when something changed since it was loaded. It merges
  // the records other builds saved meanwhile, then writes a temporary file
  // and renames it over the old one. All of this runs under an flock(2) on a
  // lock file beside it, so two builds sharing a store keep each other's
  // records.
  void save();

  // Number of distinct host paths with a record.
  std::size_t size() const;
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  // Identity of the cache file as read, to tell whether another build has
  // replaced it since.
  struct FileVersion {
    std::uint64_t inode;
    std::uint64_t size;
    std::int64_t mtime_ns;
    bool operator==(const FileVersion&) const = default;
  };
  static FileVersion version_of(const struct stat& st);

  struct Record {
    std::uint64_t size;
    std::int64_t mtime_ns;
    std::uint64_t inode;
    std::int64_t ctime_ns;
    std::int64_t hashed_at_ns;
    ContentInfo content;
  };

  // Hashes std::string keys and std::string_view probes alike.
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view path) const { return std::hash<std::string_view>{}(path); }
  };
  using Table = std::unordered_map<std::string, Record, PathHash, std::equal_to<>>;

  // A cache file as read: its bytes and the place of its slot table.
  struct LoadedFile {
    std::string data;
    std::uint64_t slot_count = 0;  // a power of two, or 0 when nothing was loaded
    std::uint64_t record_count = 0;
    std::size_t slots_at = 0;      // offset of the slot table in `data`
  };

  bool trusted(const Record& record, const FileIdentity& identity) const;
  // Reads and checks the cache file and sets `version` to the file read.
  // Returns false when the file is missing, damaged or of another version.
  bool read(LoadedFile& file, std::optional<FileVersion>& version) const;
  // Returns the record of `path` in `file`, or nothing when it has none.
  static std::optional<Record> lookup(const LoadedFile& file, std::string_view path);
  // Parses the record at `offset` of `data`. Returns false when it does not fit.
  static bool parse_record(std::string_view data, std::uint64_t offset, std::string_view& path, Record& record);
  // Adds every record of `file` to `table`.
  static void collect(const LoadedFile& file, Table& table);
  // Serialises `table` in the file format.
  static std::string encode(const Table& table);

  std::filesystem::path file_;
  std::int64_t racy_window_ns_;
  std::optional<FileVersion> loaded_version_;  // the file the constructor read, if any
  LoadedFile loaded_;  // filled by the constructor, then never changed, so reads need no lock
  mutable std::mutex mutex_;
  Table fresh_;   // records `put` since loading, guarded by `mutex_`
  bool dirty_ = false;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::atomic<std::uint64_t> misses_{0};
};

// Hashes a host file in one pass, checks its start for a private-key header
// and reads its xattrs. Opens with O_NOFOLLOW so a symlink swapped in is
// never read.
ContentInfo hash_host_file(const std::filesystem::path& host_path);

// Returns the current wall-clock time in nanoseconds since the epoch.
std::int64_t now_ns();

}  // namespace imgbuild::context
