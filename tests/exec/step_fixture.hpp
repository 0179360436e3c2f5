// SPDX-License-Identifier: Apache-2.0
// A busybox root and request defaults shared by the exec tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/toolkit.hpp"

// Ends the current test case with a warning unless it runs as root, which
// overlay mounts and runc need.
#define SKIP_UNLESS_ROOT()                                      \
  do {                                                          \
    if (!::imgbuild::test::is_root()) {                         \
      WARN("skipped: needs root for overlay mounts and runc");  \
      return;                                                   \
    }                                                           \
  } while (false)

namespace imgbuild::test {

class StepFixture {
 public:
  StepFixture();

  // A request running `script` with busybox sh on `lowers`, with a fresh
  // scratch dir for the upper and work dirs.
  exec::RunRequest request(std::vector<std::filesystem::path> lowers, const std::string& script);

  TempDir dir{"exec-test-"};
  std::filesystem::path base;  // busybox rootfs

 private:
  int requests_ = 0;
};

// Returns the mount points of /proc/self/mountinfo that start with `prefix`.
std::vector<std::string> mounts_under(const std::filesystem::path& prefix);

// Returns the names of the entries directly in `directory`.
std::vector<std::string> entries_of(const std::filesystem::path& directory);

}  // namespace imgbuild::test
