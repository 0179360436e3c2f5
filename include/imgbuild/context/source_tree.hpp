// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/layer/entry.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::context {

// Metadata of one file in a source tree, as lstat(2) reports it.
struct FileInfo {
  layer::EntryType type = layer::EntryType::regular;  // never `hardlink`
  std::uint32_t mode = 0644;  // permission bits with setuid, setgid and sticky
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;     // regular files only
  std::string link_target;    // symlinks: the target bytes as stored
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  std::int64_t mtime = 0;     // seconds

  // Host identity, for hardlink detection and the stat cache; zero when the
  // tree is not on a file system (a git tree).
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint32_t nlink = 1;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

// Hash of a regular file's bytes, plus what the secrets guard needs to know
// about them and the file's xattrs (cached with the hash, because setting an
// xattr changes ctime too).
struct ContentInfo {
  Digest digest;
  bool private_key_header = false;  // a "-----BEGIN ... PRIVATE KEY-----" line near the start
  std::map<std::string, std::string> xattrs;  // as `SourceTree::xattrs` returns them
};

// One child of a directory, as `SourceTree::scan` returns it.
struct DirectoryEntry {
  std::string name;
  std::optional<FileInfo> info;  // empty for a socket, or a name removed since the listing
};

// Origin of copied files: a build context or another stage's root.
enum class SourceKind { context, stage };

// A read-only tree that copy steps read from. Paths are relative to the tree
// root, '/'-separated, without a leading '/'; "" is the root. Symlinks are
// resolved inside the tree as if its root were '/', and ".." stops at the
// root, so nothing outside the tree is ever reached.
class SourceTree {
 public:
  virtual ~SourceTree() = default;

  virtual SourceKind kind() const = 0;
  // Names the tree in messages: "build context '/src/app'", "stage 'builder'".
  virtual std::string describe() const = 0;

  // Looks up `physical_path` without following any symlink, in itself or in
  // its parents; callers pass paths built from `list` or `resolve`.
  virtual std::optional<FileInfo> entry(std::string_view physical_path) const = 0;

  // Returns the names in the directory `physical_path`, sorted byte-wise.
  // Throws when it is not a directory.
  virtual std::vector<std::string> list(std::string_view physical_path) const = 0;

  // Returns `list` with each child's `entry`. Trees on a file system override
  // it to stat the children relative to the open directory, which saves a
  // path lookup per child. Safe to call from several threads at once.
  virtual std::vector<DirectoryEntry> scan(std::string_view physical_path) const;

  // Returns the extended attributes kept in layers (overlay bookkeeping
  // attributes and SELinux labels are dropped).
  virtual std::map<std::string, std::string> xattrs(std::string_view physical_path) const;

  // Sets `entry.source` or `entry.content` so the layer writer can read the
  // bytes of the regular file at `physical_path`. Safe to call from several
  // threads at once.
  virtual void attach_content(std::string_view physical_path, layer::Entry& entry) const = 0;

  // Reads up to `limit` bytes of the regular file at `physical_path`.
  virtual std::string read(std::string_view physical_path, std::size_t limit) const = 0;

  // Hashes the regular file at `physical_path` and reads its xattrs. Safe to
  // call from several threads at once.
  virtual ContentInfo content_info(std::string_view physical_path, const FileInfo& info) const;

  // Ignore rules of a build context; a stage excludes nothing.
  virtual bool excluded(std::string_view /*path*/) const { return false; }
  virtual bool walk_below(std::string_view /*directory*/) const { return true; }

  // Resolves every symlink in `path` (the last component too unless
  // `follow_last` is false) inside the tree. Returns the physical path, or
  // nothing when a component does not exist. Throws on a symlink loop.
  std::optional<std::string> resolve(std::string_view path, bool follow_last = true) const;

  // Looks up `path` like lstat(2): parents resolved inside the tree, the last
  // component not followed.
  std::optional<FileInfo> lstat(std::string_view path) const;
};

// Normalises an image or tree path to the relative form above: "/a//b/./c/"
// becomes "a/b/c" and ".." is applied lexically, stopping at the root.
std::string clean_path(std::string_view path);

// True for xattrs that go into layers: overlay bookkeeping attributes and
// SELinux labels of the build host are dropped.
bool kept_xattr(std::string_view name);

// Scans the start of a file for a PEM private-key header.
bool has_private_key_header(std::string_view head);

// How many leading bytes `has_private_key_header` looks at.
inline constexpr std::size_t private_key_scan_bytes = 4096;

}  // namespace imgbuild::context
