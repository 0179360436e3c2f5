// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/vulnerabilities.hpp"

#include <cctype>
#include <set>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::report {

namespace {

// dpkg's character order: '~' before the end, letters before non-letters.
int order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

int compare_fragment(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_difference = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? order(a[i]) : 0;
      int bc = j < b.size() ? order(b[j]) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && j < b.size() && std::isdigit(static_cast<unsigned char>(a[i])) &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_difference) first_difference = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_difference) return first_difference;
  }
  return 0;
}

struct DebianVersion {
  long epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

DebianVersion split_version(std::string_view text) {
  DebianVersion version;
  std::size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    version.epoch = std::strtol(std::string(text.substr(0, colon)).c_str(), nullptr, 10);
    text.remove_prefix(colon + 1);
  }
  std::size_t dash = text.rfind('-');
  version.upstream = text.substr(0, dash);
  if (dash != std::string_view::npos) version.revision = text.substr(dash + 1);
  return version;
}

}  // namespace

int compare_debian_versions(std::string_view a, std::string_view b) {
  DebianVersion left = split_version(a);
  DebianVersion right = split_version(b);
  if (left.epoch != right.epoch) return left.epoch < right.epoch ? -1 : 1;
  if (int result = compare_fragment(left.upstream, right.upstream)) return result;
  return compare_fragment(left.revision, right.revision);
}

SecurityTracker SecurityTracker::load(const std::filesystem::path& path) {
  try {
    return from_json(nlohmann::json::parse(read_file(path)));
  } catch (const nlohmann::json::exception& error) {
    fail("invalid security tracker file ", quote(path.string()), ": ", error.what(),
         "; pass the JSON export of the Debian security tracker");
  } catch (const Error& error) {
    throw error.with_context(cat("security tracker file ", quote(path.string())));
  }
}

SecurityTracker SecurityTracker::from_json(nlohmann::json data) {
  if (!data.is_object()) fail("expected an object of source packages at the top level");
  SecurityTracker tracker;
  tracker.data_ = std::move(data);
  return tracker;
}

namespace {

// Strips the "**" the tracker appends to urgencies it took from NVD.
std::string clean_urgency(std::string urgency) {
  while (!urgency.empty() && urgency.back() == '*') urgency.pop_back();
  return urgency.empty() ? "not yet assigned" : urgency;
}

// True when the issue affects `installed` (a source version) in `release`.
bool affects(const nlohmann::json& release, const std::string& installed) {
  std::string status = release.value("status", "");
  if (status == "open") return true;
  if (status != "resolved") return false;
  std::string fixed = release.value("fixed_version", "");
  return !fixed.empty() && fixed != "0" && compare_debian_versions(installed, fixed) < 0;
}

}  // namespace

VulnerabilityCounts SecurityTracker::count(const std::vector<Package>& packages, const std::string& release) const {
  // One source package can ship many binaries; count its issues once.
  std::map<std::string, std::string> sources;  // source -> installed source version
  for (const Package& package : packages)
    if (package.ecosystem == Ecosystem::deb)
      sources.emplace(package.source.empty() ? package.name : package.source,
                      package.source_version.empty() ? package.version : package.source_version);

  VulnerabilityCounts counts;
  counts.release = release;
  for (const auto& [source, version] : sources) {
    auto issues = data_.find(source);
    if (issues == data_.end() || !issues->is_object()) continue;
    for (const auto& [id, issue] : issues->items()) {
      if (!issue.is_object() || !issue.contains("releases")) continue;
      const nlohmann::json& releases = issue["releases"];
      if (!releases.is_object() || !releases.contains(release)) continue;
      const nlohmann::json& entry = releases[release];
      if (!affects(entry, version)) continue;
      ++counts.by_urgency[clean_urgency(entry.value("urgency", ""))];
      ++counts.by_package[source];
      ++counts.total;
    }
  }
  return counts;
}

std::map<std::string, std::int64_t> urgency_delta(const VulnerabilityCounts& previous,
                                                  const VulnerabilityCounts& current) {
  std::map<std::string, std::int64_t> delta;
  for (const auto& [urgency, count] : current.by_urgency) delta[urgency] += static_cast<std::int64_t>(count);
  for (const auto& [urgency, count] : previous.by_urgency) delta[urgency] -= static_cast<std::int64_t>(count);
  return delta;
}

}  // namespace imgbuild::report
