// SPDX-License-Identifier: Apache-2.0
// The files of an image on disk, addressed by their path inside the image:
// either a directory (an OCI layout) or a tar archive unpacked into a
// temporary directory (an OCI archive or a docker-archive).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "imgbuild/util/fs.hpp"

namespace imgbuild::image::detail {

namespace fs = std::filesystem;

class FileSet {
 public:
  // Files of the directory `root`.
  static FileSet directory(const fs::path& root);
  // Unpacks the regular files of the tar `archive` into a temporary directory
  // under `scratch`. Member names are never used as host paths, so names with
  // ".." or a leading "/" cannot write outside it. Symlinks and hardlinks
  // between members are resolved on lookup.
  static FileSet unpack(const fs::path& archive, const fs::path& scratch);

  // Returns the host path of member `name`, or nothing when it is missing.
  std::optional<fs::path> find(std::string_view name) const;
  // Like find, but throws naming the member and the image when missing.
  fs::path locate(std::string_view name) const;
  // The directory or archive the files come from, for messages.
  const fs::path& origin() const { return origin_; }

 private:
  FileSet() = default;
  fs::path origin_;
  fs::path root_;  // set for a directory
  std::optional<TempDir> unpacked_;
  std::map<std::string, fs::path> files_;     // member -> host file
  std::map<std::string, std::string> links_;  // member -> member it points to
};

// Normalizes a member name: drops "./" and empty components, resolves "..";
// returns nothing when it climbs above the top.
std::optional<std::string> normalize_member(std::string_view name);

}  // namespace imgbuild::image::detail
