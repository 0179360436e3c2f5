// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/order.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::layer {
namespace {

constexpr std::string_view opaque_name = ".wh..wh..opq";

// Splits at the first '/': the component and the rest (empty at the end).
std::pair<std::string_view, std::string_view> first_component(std::string_view path) {
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return {path, {}};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// Siblings sort by rank first: the opaque marker, whiteouts, then the rest.
int sibling_rank(std::string_view component, bool last) {
  if (!last) return 2;
  if (component == opaque_name) return 0;
  if (is_whiteout_name(component)) return 1;
  return 2;
}

std::string_view basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

void check_path(const Entry& entry) {
  const std::string& path = entry.path;
  if (path.empty()) fail("invalid layer entry '': the path is empty; the layer root has no entry of its own");
  if (path.front() == '/' || path.back() == '/')
    fail("invalid layer entry ", quote(path), ": paths are relative, without a leading or trailing '/'");
  for (std::string_view rest = path; !rest.empty();) {
    auto [component, next] = first_component(rest);
    if (component.empty() || component == "." || component == "..")
      fail("invalid layer entry ", quote(path), ": it has an empty, '.' or '..' component");
    rest = next;
  }
  std::string_view base = basename_of(path);
  bool whiteout_shape = entry.type == EntryType::regular && entry.size == 0 &&
                        (!entry.content || entry.content->empty()) && entry.source.empty();
  if (is_whiteout_name(base) && !whiteout_shape)
    fail("invalid layer entry ", quote(path), ": names starting with '.wh.' are reserved for whiteouts, "
         "which are empty regular entries");
}

// Follows hardlink targets to the entry that carries the content.
std::size_t hardlink_root(const std::vector<Entry>& entries, const std::map<std::string_view, std::size_t>& index,
                          std::size_t link) {
  std::size_t current = link;
  for (std::size_t steps = 0; entries[current].type == EntryType::hardlink; ++steps) {
    auto target = index.find(entries[current].link_target);
    if (target == index.end())
      fail("hardlink ", quote(entries[link].path), " points to ", quote(entries[current].link_target),
           ", which is not in the layer; hardlinks must name a file of the same layer");
    if (steps > entries.size()) fail("hardlink ", quote(entries[link].path), " is part of a hardlink cycle");
    current = target->second;
  }
  if (entries[current].type == EntryType::directory)
    fail("hardlink ", quote(entries[link].path), " points to the directory ", quote(entries[current].path));
  return current;
}

// Makes the first name of each inode (in layer order) the one with content
// and points every other name at it directly, so no link chains remain.
void normalize_hardlinks(std::vector<Entry>& entries) {
  bool has_hardlinks =
      std::any_of(entries.begin(), entries.end(), [](const Entry& entry) { return entry.type == EntryType::hardlink; });
  if (!has_hardlinks) return;
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < entries.size(); ++i) index.emplace(entries[i].path, i);

  std::map<std::size_t, std::vector<std::size_t>> groups;  // content entry -> its names, in order
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].type == EntryType::hardlink) groups[hardlink_root(entries, index, i)].push_back(i);
  }

  for (auto& [root, links] : groups) {
    std::size_t leader = std::min(root, links.front());
    if (leader != root) {
      std::string leader_path = entries[leader].path;
      std::swap(entries[leader], entries[root]);
      entries[root].path = entries[leader].path;
      entries[leader].path = leader_path;
      std::replace(links.begin(), links.end(), leader, root);
    }
    for (std::size_t link : links) {
      Entry& entry = entries[link];
      const Entry& first = entries[leader];
      entry.type = EntryType::hardlink;
      entry.link_target = first.path;
      entry.mode = first.mode;
      entry.uid = first.uid;
      entry.gid = first.gid;
      entry.mtime = first.mtime;
      entry.xattrs.clear();
      entry.size = 0;
      entry.source.clear();
      entry.content.reset();
    }
  }
}

// A parent present in the layer must be a directory; a missing parent may
// exist in a lower layer, so that is the caller's concern.
void check_parents(const std::vector<Entry>& entries) {
  std::unordered_map<std::string_view, EntryType> types;
  types.reserve(entries.size());
  for (const Entry& entry : entries) types.emplace(entry.path, entry.type);
  for (const Entry& entry : entries) {
    std::string_view parent = parent_of(entry.path);
    if (parent.empty()) continue;
    auto found = types.find(parent);
    if (found != types.end() && found->second != EntryType::directory)
      fail("invalid layer entry ", quote(entry.path), ": its parent ", quote(parent), " is not a directory in the layer");
  }
}

}  // namespace

bool path_before(std::string_view a, std::string_view b) {
  // Components before the first differing byte are equal, so only the
  // component that contains it decides. Starting there saves splitting
  // the long shared prefixes of a deep tree on every comparison.
  std::size_t common = static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
  if (common == a.size() && common == b.size()) return false;
  std::size_t start = 0;
  if (common > 0) {
    std::size_t slash = a.rfind('/', common - 1);
    if (slash != std::string_view::npos) start = slash + 1;
  }
  auto [a_head, a_rest] = first_component(a.substr(start));
  auto [b_head, b_rest] = first_component(b.substr(start));
  // Equal heads mean that one path ends where the other goes on with '/':
  // a parent comes before its children.
  if (a_head == b_head) return a_rest.empty() && !b_rest.empty();
  bool a_last = a.find('/', start) == std::string_view::npos;
  bool b_last = b.find('/', start) == std::string_view::npos;
  int a_rank = sibling_rank(a_head, a_last);
  int b_rank = sibling_rank(b_head, b_last);
  if (a_rank != b_rank) return a_rank < b_rank;
  return a_head < b_head;
}

void sort_entries(std::vector<Entry>& entries) {
  for (const Entry& entry : entries) check_path(entry);

  auto before = [](const Entry& a, const Entry& b) { return path_before(a.path, b.path); };
  // Entries from scan_tree arrive in layer order already. Checking that
  // takes one comparison per entry, while sorting moves these large structs.
  if (!std::is_sorted(entries.begin(), entries.end(), before)) std::sort(entries.begin(), entries.end(), before);
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].path == entries[i - 1].path)
      fail("layer entry ", quote(entries[i].path), " appears twice; each path may be written once per layer");
  }

  check_parents(entries);
  normalize_hardlinks(entries);
}

}  // namespace imgbuild::layer
