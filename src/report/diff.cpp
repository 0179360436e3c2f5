// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/diff.hpp"

#include <algorithm>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/text_block.hpp"

namespace imgbuild::report {

using nlohmann::json;

namespace {

constexpr std::size_t largest_shown = 10;

const LayerSummary* layer_of(const Snapshot& snapshot, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= snapshot.layers.size()) return nullptr;
  return &snapshot.layers[static_cast<std::size_t>(index)];
}

// A file is unchanged when A has it with the same size from a layer with the
// same diff_id: identical layers carry identical bytes.
bool unchanged(const Snapshot& a, const FileRecord& before, const Snapshot& b, const FileRecord& after) {
  const LayerSummary* old_layer = layer_of(a, before.layer);
  const LayerSummary* new_layer = layer_of(b, after.layer);
  return before.size == after.size && old_layer && new_layer && old_layer->diff_id == new_layer->diff_id;
}

std::vector<AddedFile> largest_added(const Snapshot& a, const Snapshot& b) {
  std::vector<AddedFile> added;
  for (const auto& [path, record] : b.files) {
    if (record.kind != FileKind::regular) continue;
    auto before = a.files.find(path);
    bool modified = before != a.files.end();
    if (modified && unchanged(a, before->second, b, record)) continue;
    const LayerSummary* layer = layer_of(b, record.layer);
    added.push_back({path, record.size, record.layer, layer ? layer->step : "", modified});
  }
  std::stable_sort(added.begin(), added.end(), [](const AddedFile& x, const AddedFile& y) { return x.size > y.size; });
  if (added.size() > largest_shown) added.resize(largest_shown);
  return added;
}

}  // namespace

DiffReport diff_snapshots(const Snapshot& a, const Snapshot& b) {
  DiffReport diff;
  diff.report = compare(a, b);
  if (a.has_files && b.has_files) diff.largest_added = largest_added(a, b);
  diff.duplicated = b.overwrites;
  for (const Overwrite& overwrite : diff.duplicated) diff.wasted_bytes += overwrite.wasted;
  return diff;
}

DiffReport diff_images(const image::Image& a, const image::Image& b, const store::Store& store) {
  return diff_snapshots(snapshot_of_image(a, store), snapshot_of_image(b, store));
}

std::string render_diff_text(const DiffReport& diff) {
  detail::TextBlock block;
  std::string label = "largest";
  for (const AddedFile& file : diff.largest_added) {
    std::string size = human_bytes(file.size);
    size.resize(std::max<std::size_t>(size.size() + 1, 9), ' ');
    block.line(label, cat(size, file.path, file.modified ? " (modified)" : "", " (layer ", file.layer, ")"));
    label.clear();
  }
  if (diff.wasted_bytes > 0) {
    block.line("wasted", cat(human_bytes(diff.wasted_bytes), " in ", diff.duplicated.size(),
                             " paths written by more than one layer"));
    for (std::size_t i = 0; i < diff.duplicated.size() && i < largest_shown; ++i) {
      const Overwrite& overwrite = diff.duplicated[i];
      std::vector<std::string> layers;
      for (int layer : overwrite.layers) layers.push_back(std::to_string(layer));
      block.more(cat("  ", human_bytes(overwrite.wasted), "  ", overwrite.path, " (layers ", join(layers, ", "), ")"));
    }
  }
  return render_text(diff.report) + block.str();
}

json diff_to_json(const DiffReport& diff) {
  json out = report_to_json(diff.report);
  json added = json::array();
  for (const AddedFile& file : diff.largest_added)
    added.push_back({{"path", file.path},
                     {"size", file.size},
                     {"layer", file.layer},
                     {"step", file.step},
                     {"modified", file.modified}});
  json duplicated = json::array();
  for (const Overwrite& overwrite : diff.duplicated)
    duplicated.push_back({{"path", overwrite.path}, {"layers", overwrite.layers}, {"wasted", overwrite.wasted}});
  out["largest_added"] = added;
  out["duplicated"] = duplicated;
  out["wasted_bytes"] = diff.wasted_bytes;
  return out;
}

}  // namespace imgbuild::report
