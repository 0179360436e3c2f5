// SPDX-License-Identifier: Apache-2.0
// A local flat apt repository for tests: one tiny package, imgbuild-hello,
// built in two versions, of which one is published at a time.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::test {

namespace fs = std::filesystem;

// Builds imgbuild-hello 1.0-1 and 1.1-1 (Architecture: all, one file
// /usr/share/imgbuild-hello/VERSION holding the version) with `dpkg-deb
// --build` under `directory`/debs, and publishes into `directory`/repo the
// `Packages` and `Release` indexes of a flat repository (apt-ftparchive).
//
// mmdebstrap runs apt outside its chroot and dpkg inside it, so a file://
// source must exist at the same path in the chroot. For bases that use
// `source_line()`, mmdebstrap's file-mirror-automount hook bind-mounts the
// directory there during the build.
class AptRepo {
 public:
  static constexpr const char* package = "imgbuild-hello";
  static inline const std::vector<std::string> versions{"1.0-1", "1.1-1"};

  explicit AptRepo(const fs::path& directory);

  // Makes `version` (one of `versions`) the only published version.
  void publish(std::string_view version);

  // The published repository directory, also the root for HTTP serving.
  const fs::path& repo_dir() const { return repo_dir_; }
  // "deb [trusted=yes] file:///DIR/repo ./"
  std::string source_line() const;
  // "deb [trusted=yes] http://127.0.0.1:PORT/ ./", for a server on repo_dir().
  static std::string http_source_line(int port);

 private:
  fs::path debs_dir_;
  fs::path repo_dir_;
};

}  // namespace imgbuild::test
