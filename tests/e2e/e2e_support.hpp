// SPDX-License-Identifier: Apache-2.0
// Helpers for end-to-end tests: readers for build logs, layers and mounts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"

namespace imgbuild::test {

// Counts the step lines of a build log that end in "cached" or "built".
struct StepCounts {
  int cached = 0;
  int built = 0;
};
StepCounts count_steps(const std::string& log);

// Lists the entries of a layer blob with `tar -tvf` (names only, in order).
std::vector<std::string> layer_names(const std::filesystem::path& blob);

// Polls `log` until it contains `text`; false after `seconds`.
bool wait_for_log(const std::filesystem::path& log, std::string_view text, double seconds);

// Mounts in this process's mount namespace whose path starts with `prefix`.
std::vector<std::string> mounts_under(const std::filesystem::path& prefix);

}  // namespace imgbuild::test
