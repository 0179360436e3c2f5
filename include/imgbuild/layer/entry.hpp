// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imgbuild::layer {

enum class EntryType { regular, directory, symlink, hardlink, char_device, block_device, fifo };

// One entry of a layer changeset, before it is written as a tar header.
// Whiteouts are regular entries of size 0 named `.wh.NAME`, and an opaque
// directory marker is the regular entry `DIR/.wh..wh..opq`; see `whiteout()`
// and `opaque_marker()`.
struct Entry {
  std::string path;  // layer-relative, '/'-separated, no leading '/' or "./",
                     // no trailing '/'; raw bytes (not necessarily UTF-8)
  EntryType type = EntryType::regular;
  std::uint32_t mode = 0644;  // permission bits with setuid, setgid and sticky (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;      // regular files only
  std::string link_target;     // symlink: target as written; hardlink: layer-relative path
  std::uint32_t dev_major = 0; // character and block devices
  std::uint32_t dev_minor = 0;
  std::map<std::string, std::string> xattrs;  // name -> raw value bytes
  std::int64_t mtime = 0;      // seconds since the epoch; the writer clamps it

  // Content of a regular entry: a file on disk, or bytes held in memory.
  std::filesystem::path source;
  std::optional<std::string> content;
};

Entry whiteout(const std::string& path);           // hides `path` of lower layers
Entry opaque_marker(const std::string& directory); // hides all lower children of `directory`

bool is_whiteout_name(std::string_view basename);  // ".wh.X", including the opaque marker

}  // namespace imgbuild::layer
