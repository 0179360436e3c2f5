// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/compare.hpp"

#include <algorithm>
#include <set>

#include "imgbuild/report/vulnerabilities.hpp"
#include "report/json_forms.hpp"

namespace imgbuild::report {

using nlohmann::json;

bool Report::has_changes() const {
  return !added.empty() || !removed.empty() || !changed.empty() || !bases_moved.empty() ||
         compressed_delta != 0 || uncompressed_delta != 0;
}

namespace {

void compare_packages(const Snapshot& previous, const Snapshot& current, Report& report) {
  using Key = std::tuple<Ecosystem, std::string, std::string>;
  std::map<Key, const Package*> before;
  for (const Package& package : previous.packages) before[package.key()] = &package;

  for (const Package& package : current.packages) {
    auto match = before.find(package.key());
    if (match == before.end()) {
      report.added.push_back(package);
      continue;
    }
    if (match->second->version != package.version) report.changed.push_back({*match->second, package});
    before.erase(match);
  }
  for (const auto& [key, package] : before) report.removed.push_back(*package);
}

void compare_bases(const Snapshot& previous, const Snapshot& current, Report& report) {
  for (const BaseImage& base : current.bases) {
    auto match = std::find_if(previous.bases.begin(), previous.bases.end(),
                              [&](const BaseImage& old) { return old.name == base.name; });
    if (match != previous.bases.end() && match->digest != base.digest)
      report.bases_moved.push_back({base.name, match->digest, base.digest});
  }
}

std::int64_t difference(std::uint64_t after, std::uint64_t before) {
  return static_cast<std::int64_t>(after) - static_cast<std::int64_t>(before);
}

}  // namespace

Report compare(const std::optional<Snapshot>& previous, const Snapshot& current) {
  Report report;
  report.current = current;
  report.previous = previous;
  report.compressed_size = current.compressed_size();
  report.uncompressed_size = current.uncompressed_size();

  std::set<Digest> previous_layers;
  if (previous)
    for (const LayerSummary& layer : previous->layers) previous_layers.insert(layer.diff_id);
  for (std::size_t i = 0; i < current.layers.size(); ++i) {
    const LayerSummary& layer = current.layers[i];
    report.layers.push_back({static_cast<int>(i), layer.compressed_size, layer.uncompressed_size, layer.step,
                             previous_layers.contains(layer.diff_id)});
  }

  if (!previous) return report;
  report.compressed_delta = difference(report.compressed_size, previous->compressed_size());
  report.uncompressed_delta = difference(report.uncompressed_size, previous->uncompressed_size());
  compare_packages(*previous, current, report);
  compare_bases(*previous, current, report);
  if (previous->vulnerabilities && current.vulnerabilities)
    report.vulnerability_delta = urgency_delta(*previous->vulnerabilities, *current.vulnerabilities);
  return report;
}

namespace {

json package_list(const std::vector<Package>& packages) {
  json out = json::array();
  for (const Package& package : packages) out.push_back(detail::package_json(package));
  return out;
}

json change_list(const std::vector<PackageChange>& changes) {
  json out = json::array();
  for (const PackageChange& change : changes) {
    json entry = {{"ecosystem", ecosystem_name(change.after.ecosystem)},
                  {"name", change.after.name},
                  {"before", change.before.version},
                  {"after", change.after.version},
                  {"layer", change.after.layer}};
    if (!change.after.architecture.empty()) entry["architecture"] = change.after.architecture;
    out.push_back(entry);
  }
  return out;
}

json vulnerability_summary(const Report& report) {
  json out = detail::vulnerabilities_json(report.current.vulnerabilities);
  if (out.is_null()) return out;
  out.erase("by_package");
  out["delta"] = report.previous && report.previous->vulnerabilities ? json(report.vulnerability_delta)
                                                                     : json(nullptr);
  return out;
}

json previous_summary(const std::optional<Snapshot>& previous) {
  if (!previous) return nullptr;
  return {{"name", previous->name},
          {"target", previous->target},
          {"manifest_digest", previous->manifest_digest ? json(previous->manifest_digest->str()) : json(nullptr)},
          {"size", {{"compressed", previous->compressed_size()}, {"uncompressed", previous->uncompressed_size()}}}};
}

}  // namespace

json report_to_json(const Report& report) {
  const Snapshot& current = report.current;
  json layers = json::array();
  for (const LayerRow& row : report.layers)
    layers.push_back({{"index", row.index},
                      {"digest", current.layers[static_cast<std::size_t>(row.index)].digest.str()},
                      {"compressed_size", row.compressed_size},
                      {"uncompressed_size", row.uncompressed_size},
                      {"step", row.step},
                      {"reused", row.reused}});
  json bases = json::array();
  for (const BaseMove& move : report.bases_moved)
    bases.push_back({{"name", move.name}, {"before", move.before.str()}, {"after", move.after.str()}});
  json record = to_json(current);

  return {{"schema", "imgbuild-report/1"},
          {"image",
           {{"name", current.name}, {"target", current.target}, {"manifest_digest", record["manifest_digest"]}}},
          {"previous", previous_summary(report.previous)},
          {"size",
           {{"compressed", report.compressed_size},
            {"uncompressed", report.uncompressed_size},
            {"compressed_delta", report.compressed_delta},
            {"uncompressed_delta", report.uncompressed_delta}}},
          {"layers", layers},
          {"packages",
           {{"added", package_list(report.added)},
            {"removed", package_list(report.removed)},
            {"changed", change_list(report.changed)}}},
          {"bases_moved", bases},
          {"policy", record["policy"]},
          {"allowed_secrets", record["allowed_secrets"]},
          {"vulnerabilities", vulnerability_summary(report)},
          {"current", record}};
}

}  // namespace imgbuild::report
