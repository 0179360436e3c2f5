// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/layer/entry.hpp"

namespace imgbuild::layer {

Entry whiteout(const std::string& path) {
  Entry entry;
  auto slash = path.rfind('/');
  entry.path = slash == std::string::npos ? ".wh." + path : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
  entry.type = EntryType::regular;
  entry.mode = 0644;
  entry.content = std::string();
  return entry;
}

Entry opaque_marker(const std::string& directory) {
  Entry entry;
  entry.path = directory.empty() ? ".wh..wh..opq" : directory + "/.wh..wh..opq";
  entry.type = EntryType::regular;
  entry.mode = 0644;
  entry.content = std::string();
  return entry;
}

bool is_whiteout_name(std::string_view basename) { return basename.starts_with(".wh."); }

}  // namespace imgbuild::layer
