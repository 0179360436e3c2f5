// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/compare.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/text_block.hpp"

namespace imgbuild::report {

namespace detail {

void TextBlock::line(std::string_view label, std::string_view text) {
  constexpr std::size_t label_width = 10;
  std::string padded(label);
  padded.resize(std::max(label_width, padded.size() + 1), ' ');
  text_ += padded;
  text_ += text;
  text_ += '\n';
}

std::string short_digest(std::string_view digest) {
  constexpr std::size_t shown = 7 + 12;  // "sha256:" and 12 hex digits
  return std::string(digest.substr(0, shown));
}

}  // namespace detail

namespace {

// At most this many packages of each kind are listed; the JSON has them all.
constexpr std::size_t max_listed = 10;

std::string with_delta(std::uint64_t size, std::int64_t delta, bool has_previous) {
  return has_previous ? cat(human_bytes(size), " (", human_delta(delta), ")") : human_bytes(size);
}

void render_image(const Report& report, detail::TextBlock& block) {
  const Snapshot& current = report.current;
  std::string digest = current.manifest_digest ? " " + detail::short_digest(current.manifest_digest->str()) : "";
  std::string target = current.target.empty() ? "" : " (target " + current.target + ")";
  block.line("image", current.name + digest + target);

  std::size_t reused = 0;
  for (const LayerRow& row : report.layers) reused += row.reused ? 1 : 0;
  bool has_previous = report.previous.has_value();
  block.line("size", cat(with_delta(report.compressed_size, report.compressed_delta, has_previous),
                         " compressed, ",
                         with_delta(report.uncompressed_size, report.uncompressed_delta, has_previous),
                         " uncompressed, ", report.layers.size(), " layers",
                         has_previous ? cat(" (", reused, " reused)") : std::string{}));
}

void render_layers(const Report& report, detail::TextBlock& block) {
  std::string label = "layers";
  for (const LayerRow& row : report.layers) {
    std::string sizes = cat(human_bytes(row.compressed_size), " / ", human_bytes(row.uncompressed_size));
    sizes.resize(std::max<std::size_t>(sizes.size() + 1, 20), ' ');
    block.line(label, cat(row.index, "  ", sizes, row.step.empty() ? "-" : row.step, row.reused ? " (reused)" : ""));
    label.clear();
  }
}

template <typename Item, typename Format>
void render_list(detail::TextBlock& block, const std::vector<Item>& items, Format format) {
  for (std::size_t i = 0; i < items.size() && i < max_listed; ++i) block.more(format(items[i]));
  if (items.size() > max_listed) block.more(cat("  ... and ", items.size() - max_listed, " more"));
}

void render_packages(const Report& report, detail::TextBlock& block) {
  if (!report.previous) {
    block.line("packages", cat(report.current.packages.size(), " installed (first build, nothing to compare)"));
    return;
  }
  block.line("packages", cat(report.added.size(), " added, ", report.removed.size(), " removed, ",
                             report.changed.size(), " changed"));
  render_list(block, report.added, [](const Package& p) { return cat("  + ", p.display_name(), " ", p.version); });
  render_list(block, report.removed, [](const Package& p) { return cat("  - ", p.display_name(), " ", p.version); });
  render_list(block, report.changed, [](const PackageChange& c) {
    return cat("  ~ ", c.after.display_name(), " ", c.before.version, " -> ", c.after.version);
  });
}

void render_findings(const Report& report, detail::TextBlock& block) {
  for (const BaseMove& move : report.bases_moved)
    block.line("base", cat(move.name, " moved ", detail::short_digest(move.before.str()), " -> ",
                           detail::short_digest(move.after.str())));

  const std::vector<Finding>& findings = report.current.findings;
  if (!findings.empty()) block.line("policy", cat(findings.size(), findings.size() == 1 ? " violation" : " violations"));
  for (const Finding& finding : findings)
    block.more(cat("  ", finding.scope.empty() ? "" : finding.scope + ": ", finding.message));

  for (const AllowedSecret& secret : report.current.allowed_secrets)
    block.line("secret", cat("allowed ", secret.path, " (", secret.rule, ")"));
}

void render_vulnerabilities(const Report& report, detail::TextBlock& block) {
  const auto& counts = report.current.vulnerabilities;
  if (!counts) return;
  std::string text = cat(counts->total, " open in ", counts->release);
  std::string separator = ": ";
  for (const auto& [urgency, count] : counts->by_urgency) {
    auto delta = report.vulnerability_delta.find(urgency);
    std::string change = delta == report.vulnerability_delta.end() || delta->second == 0
                             ? ""
                             : cat(" (", delta->second > 0 ? "+" : "", delta->second, ")");
    text += cat(separator, urgency, " ", count, change);
    separator = ", ";
  }
  for (const auto& [urgency, delta] : report.vulnerability_delta)
    if (!counts->by_urgency.contains(urgency) && delta != 0) text += cat(separator, urgency, " 0 (", delta, ")");
  block.line("vulns", text);
}

}  // namespace

std::string render_text(const Report& report) {
  detail::TextBlock block;
  render_image(report, block);
  render_layers(report, block);
  render_packages(report, block);
  render_findings(report, block);
  render_vulnerabilities(report, block);
  return block.str();
}

}  // namespace imgbuild::report
