// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "imgbuild/report/snapshot.hpp"

namespace imgbuild::report {

// The Debian security tracker's JSON export:
// { "<source package>": { "CVE-...": { "releases": { "bookworm": {
//     "status": "open"|"resolved", "urgency": "low"|..., "fixed_version": "..." } } } } }
class SecurityTracker {
 public:
  // Reads the export; throws Error naming the file when it is not valid JSON
  // of that shape.
  static SecurityTracker load(const std::filesystem::path& path);
  static SecurityTracker from_json(nlohmann::json data);

  // Counts the issues that affect the snapshot's Debian packages in
  // `release` ("bookworm"), by urgency and by source package. An issue counts
  // when it is open, or resolved in a version newer than the installed one.
  // Binary packages map to sources through the dpkg Source field.
  VulnerabilityCounts count(const std::vector<Package>& packages, const std::string& release) const;

 private:
  nlohmann::json data_;
};

// Compares Debian version strings as dpkg does (epoch, upstream, revision,
// '~' sorting before everything). Returns <0, 0 or >0.
int compare_debian_versions(std::string_view a, std::string_view b);

// Per-urgency change from `previous` to `current`; every urgency in either
// appears, with 0 for no change.
std::map<std::string, std::int64_t> urgency_delta(const VulnerabilityCounts& previous,
                                                  const VulnerabilityCounts& current);

}  // namespace imgbuild::report
