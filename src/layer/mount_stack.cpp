// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/mount_stack.hpp"

#include <nlohmann/json.hpp>

#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/store_layers.hpp"

namespace imgbuild::layer {
namespace {

std::string escape_option(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ':' || c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Flattens `diff_ids` (base first) into one cached directory. Nothing lies
// below them, so applying their whiteouts loses nothing.
fs::path flatten_chain(store::Store& store, const std::vector<Digest>& diff_ids) {
  std::vector<std::string> names;
  for (const Digest& diff_id : diff_ids) names.push_back(diff_id.str());
  std::string hex = sha256_of(join(names, "\n")).hex;
  fs::path target = store.unpacked_dir(Digest{}).parent_path() / ("chain-" + hex);
  if (fs::exists(target)) return target;

  // The list goes first so prune can always tell which layers a chain needs.
  fs::path list = target;
  list += ".json";
  write_file_atomic(list, nlohmann::json{{"diff_ids", names}}.dump(2) + "\n");

  fs::path temp = unpack_temp_dir(store);
  try {
    unpack_layers_flat(store, diff_ids, temp);
  } catch (...) {
    remove_tree(temp);
    throw;
  }
  publish_dir(temp, target);
  return target;
}

}  // namespace

std::string lowerdir_option(const std::vector<fs::path>& lower_dirs) {
  std::string option = "lowerdir=";
  for (auto it = lower_dirs.rbegin(); it != lower_dirs.rend(); ++it) {
    if (it != lower_dirs.rbegin()) option += ':';
    option += escape_option(it->string());
  }
  return option;
}

std::vector<fs::path> lower_dirs_for_mount(store::Store& store, const std::vector<Digest>& diff_ids, std::size_t reserved_bytes) {
  if (reserved_bytes >= mount_options_limit) fail("the overlay mount options leave no room for lowerdir (", reserved_bytes, " bytes reserved)");
  std::size_t budget = mount_options_limit - reserved_bytes - 1;  // the option string's NUL

  std::vector<fs::path> dirs;
  for (const Digest& diff_id : diff_ids) dirs.push_back(ensure_unpacked(store, diff_id));
  if (lowerdir_option(dirs).size() <= budget) return dirs;

  // Merge the fewest lowest layers that make the option fit. Every path has
  // the same length, so the merged chain's path is as long as one layer's.
  std::size_t path_bytes = escape_option(dirs.front().string()).size() + 1;
  std::size_t fitting = (budget - std::string_view("lowerdir=").size() + 1) / path_bytes;
  if (fitting < 2) fail("the overlay mount options cannot hold two lower directories of ", path_bytes, " bytes; use a store path that is shorter");
  std::size_t merged = diff_ids.size() - fitting + 1;

  std::vector<Digest> lowest(diff_ids.begin(), diff_ids.begin() + static_cast<std::ptrdiff_t>(merged));
  std::vector<fs::path> result{flatten_chain(store, lowest)};
  result.insert(result.end(), dirs.begin() + static_cast<std::ptrdiff_t>(merged), dirs.end());
  return result;
}

}  // namespace imgbuild::layer
