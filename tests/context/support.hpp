// SPDX-License-Identifier: Apache-2.0
// Helpers for the context tests: readable listings of planned entries and a
// stand-in for the stage a copy writes into.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "imgbuild/context/copy_plan.hpp"
#include "imgbuild/util/error.hpp"

namespace imgbuild::test {

// One line per planned entry: "d 0755 0:0 app", "f 0644 0:0 2 app/a.txt",
// "l app/link -> target", "h app/b => app/a".
inline std::vector<std::string> listing(const context::CopyPlan& plan) {
  std::vector<std::string> lines;
  for (const layer::Entry& entry : plan.entries) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", entry.mode);
    std::string owner = cat(entry.uid, ":", entry.gid);
    switch (entry.type) {
      case layer::EntryType::directory: lines.push_back(cat("d ", mode, " ", owner, " ", entry.path)); break;
      case layer::EntryType::regular:
        lines.push_back(cat("f ", mode, " ", owner, " ", entry.size, " ", entry.path));
        break;
      case layer::EntryType::symlink: lines.push_back(cat("l ", entry.path, " -> ", entry.link_target)); break;
      case layer::EntryType::hardlink: lines.push_back(cat("h ", entry.path, " => ", entry.link_target)); break;
      default: lines.push_back(cat("? ", entry.path)); break;
    }
  }
  return lines;
}

// Paths of the regular files in a plan, in plan order.
inline std::vector<std::string> file_paths(const context::CopyPlan& plan) {
  std::vector<std::string> paths;
  for (const layer::Entry& entry : plan.entries)
    if (entry.type == layer::EntryType::regular) paths.push_back(entry.path);
  return paths;
}

// The directories of a stage as copy steps see them.
struct FakeImage {
  std::set<std::string> directories{"/"};

  void mkdir_p(const std::string& path) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
      directories.insert(path.substr(0, slash));
    directories.insert(path);
  }

  void apply(const context::CopyPlan& plan) {
    for (const layer::Entry& entry : plan.entries)
      if (entry.type == layer::EntryType::directory) directories.insert("/" + entry.path);
  }

  context::ImageQuery query() const {
    return [this](std::string_view path) { return directories.count(std::string(path)) > 0; };
  }
};

}  // namespace imgbuild::test
