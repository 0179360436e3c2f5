// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "imgbuild/util/fs.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;

namespace {

mode_t mode_of(const fs::path& path) {
  struct stat info{};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

}  // namespace

// A Debian rootfs has dev/stdin -> /proc/self/fd/0; following it once made
// the host's /dev/null mode 0700.
TEST_CASE("util: remove_tree never changes link targets", "[util]") {
  TempDir dir("util-remove-");
  fs::path file = dir / "outside-file";
  fs::path directory = dir / "outside-dir";
  test::write(file, "keep", 0644);
  fs::create_directories(directory);
  ::chmod(directory.c_str(), 0755);

  fs::path tree = dir / "tree";
  fs::create_directories(tree / "dev");
  fs::create_directories(tree / "locked/inner");
  test::write(tree / "locked/inner/file", "x");
  ::chmod((tree / "locked").c_str(), 0500);
  fs::create_symlink(file, tree / "dev/stdin");
  fs::create_symlink(directory, tree / "dev/fd");

  remove_tree(tree / "dev/stdin");
  CHECK_FALSE(fs::exists(fs::symlink_status(tree / "dev/stdin")));
  CHECK(mode_of(file) == 0644);

  fs::create_symlink(file, tree / "dev/stdin");
  remove_tree(tree);
  CHECK_FALSE(fs::exists(fs::symlink_status(tree)));
  CHECK(mode_of(file) == 0644);
  CHECK(mode_of(directory) == 0755);
  CHECK(read_file(file) == "keep");
}
