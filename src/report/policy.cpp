// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/policy.hpp"

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::report {

namespace {

bool matches(const PackagePattern& pattern, const Package& package) {
  if (pattern.ecosystem && *pattern.ecosystem != package.ecosystem) return false;
  return glob_match(pattern.pattern, package.name);
}

std::string pattern_text(const PackagePattern& pattern) {
  return pattern.ecosystem ? cat(ecosystem_name(*pattern.ecosystem), ":", pattern.pattern) : pattern.pattern;
}

std::string step_of(const Snapshot& snapshot, int layer) {
  if (layer < 0 || static_cast<std::size_t>(layer) >= snapshot.layers.size()) return "";
  return snapshot.layers[static_cast<std::size_t>(layer)].step;
}

std::string where(const Snapshot& snapshot, int layer) {
  std::string step = step_of(snapshot, layer);
  if (layer < 0) return "";
  return step.empty() ? cat(" (layer ", layer, ")") : cat(" (layer ", layer, ", ", step, ")");
}

// Returns the forbidding pattern that decides `package`, or nullptr. As in
// ignore files, a pattern starting with '!' is an exception and the last
// matching pattern wins, so ["gcc*", "!gcc-*-base"] forbids compilers but
// not the runtime libraries' shared data package.
const PackagePattern* forbidding_pattern(const Policy& policy, const Package& package) {
  const PackagePattern* decided = nullptr;
  for (const PackagePattern& pattern : policy.forbidden_packages) {
    bool exception = pattern.pattern.starts_with('!');
    PackagePattern plain{pattern.ecosystem, exception ? pattern.pattern.substr(1) : pattern.pattern};
    if (matches(plain, package)) decided = exception ? nullptr : &pattern;
  }
  return decided;
}

void check_packages(const Policy& policy, const Snapshot& snapshot, std::vector<Finding>& findings) {
  for (const Package& package : snapshot.packages) {
    const PackagePattern* pattern = forbidding_pattern(policy, package);
    if (!pattern) continue;
    findings.push_back({"forbidden-package", package.display_name(), package.layer,
                        step_of(snapshot, package.layer),
                        cat("forbidden package ", package.display_name(), " ", package.version, " matches ",
                            quote(pattern_text(*pattern)), where(snapshot, package.layer)),
                        ""});
  }

  for (const PackagePattern& pattern : policy.required_packages) {
    bool found = false;
    for (const Package& package : snapshot.packages) found = found || matches(pattern, package);
    if (!found)
      findings.push_back({"required-package", pattern_text(pattern), -1, "",
                          cat("required package ", quote(pattern_text(pattern)), " is not installed"), ""});
  }
}

void check_paths(const Policy& policy, const Snapshot& snapshot, std::vector<Finding>& findings) {
  for (const auto& [path, record] : snapshot.files) {
    for (const std::string& pattern : policy.forbidden_paths) {
      if (!glob_match(pattern, path)) continue;
      findings.push_back({"forbidden-path", path, record.layer, step_of(snapshot, record.layer),
                          cat("forbidden path ", quote(path), " matches ", quote(pattern),
                              where(snapshot, record.layer)),
                          ""});
      break;
    }
  }
}

void check_size(const char* rule, const char* what, std::optional<std::uint64_t> limit, std::uint64_t size,
                std::vector<Finding>& findings) {
  if (!limit || size <= *limit) return;
  findings.push_back({rule, std::to_string(size), -1, "",
                      cat(what, " size ", human_bytes(size), " (", size, " bytes) exceeds the maximum ",
                          human_bytes(*limit), " (", *limit, " bytes)"),
                      ""});
}

// "0", "root", "0:0" and "root:staff" all run as root.
bool runs_as_root(const std::string& user) {
  std::string name = user.substr(0, user.find(':'));
  return name.empty() || name == "0" || name == "root";
}

bool has_healthcheck(const Snapshot& snapshot) {
  return snapshot.healthcheck && !snapshot.healthcheck->empty() && snapshot.healthcheck->front() != "NONE";
}

}  // namespace

std::vector<Finding> evaluate_policy(const Policy& policy, const Snapshot& snapshot, const std::string& scope) {
  std::vector<Finding> findings;
  check_packages(policy, snapshot, findings);
  check_paths(policy, snapshot, findings);
  check_size("max-compressed-size", "compressed", policy.max_compressed_size, snapshot.compressed_size(), findings);
  check_size("max-uncompressed-size", "uncompressed", policy.max_uncompressed_size, snapshot.uncompressed_size(),
             findings);

  if (policy.require_non_root_user && runs_as_root(snapshot.user))
    findings.push_back({"non-root-user", snapshot.user, -1, "",
                        snapshot.user.empty() ? std::string("the image runs as root: no user is set")
                                              : cat("the image runs as root: user is ", quote(snapshot.user)),
                        ""});
  if (policy.require_healthcheck && !has_healthcheck(snapshot))
    findings.push_back({"healthcheck", "", -1, "", "the image has no healthcheck", ""});

  for (Finding& finding : findings) finding.scope = scope;
  return findings;
}

}  // namespace imgbuild::report
