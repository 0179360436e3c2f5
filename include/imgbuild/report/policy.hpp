// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/report/snapshot.hpp"

namespace imgbuild::report {

// A package name glob, optionally limited to one ecosystem.
struct PackagePattern {
  std::optional<Ecosystem> ecosystem;  // nothing: any ecosystem
  std::string pattern;                 // shell glob on Package::name, "gcc*"
};

// The rules one stage (or the final image) must meet. The pipeline maps the
// recipe's policy table onto this struct; everything unset is not checked.
struct Policy {
  std::vector<PackagePattern> forbidden_packages;
  std::vector<PackagePattern> required_packages;
  std::vector<std::string> forbidden_paths;  // globs on absolute paths, "/root/.ssh/*"
  std::optional<std::uint64_t> max_compressed_size;    // bytes
  std::optional<std::uint64_t> max_uncompressed_size;  // bytes
  bool require_non_root_user = false;  // config User must be set and not 0 or root
  bool require_healthcheck = false;    // config Healthcheck must be set and not NONE
};

// Checks `snapshot` against `policy`. Each finding names the rule, the
// package or path, and the layer and step that brought it in. Every finding
// gets `scope`: the stage name, or empty for the final image. Forbidden
// paths are checked only when the snapshot has its file list (`has_files`).
std::vector<Finding> evaluate_policy(const Policy& policy, const Snapshot& snapshot,
                                     const std::string& scope = "");

}  // namespace imgbuild::report
