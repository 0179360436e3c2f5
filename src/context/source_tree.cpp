// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/source_tree.hpp"

#include <deque>
#include <limits>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {

// Linux gives up after 40 links (MAXSYMLINKS); so do we.
constexpr int max_symlinks = 40;

std::string clean_path(std::string_view path) {
  std::vector<std::string> parts;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return join(parts, "/");
}

bool has_private_key_header(std::string_view head) {
  head = head.substr(0, private_key_scan_bytes);
  for (std::size_t at = head.find("-----BEGIN "); at != std::string_view::npos;
       at = head.find("-----BEGIN ", at + 1)) {
    std::size_t end = head.find('\n', at);
    std::string_view line = head.substr(at, end == std::string_view::npos ? head.npos : end - at);
    if (line.find("PRIVATE KEY-----") != std::string_view::npos) return true;
  }
  return false;
}

bool kept_xattr(std::string_view name) {
  return !name.starts_with("trusted.overlay.") && !name.starts_with("user.overlay.") &&
         name != "security.selinux";
}

std::map<std::string, std::string> SourceTree::xattrs(std::string_view) const { return {}; }

std::vector<DirectoryEntry> SourceTree::scan(std::string_view physical_path) const {
  std::vector<DirectoryEntry> children;
  for (std::string& name : list(physical_path)) {
    std::string path = physical_path.empty() ? name : std::string(physical_path) + "/" + name;
    std::optional<FileInfo> info = entry(path);
    children.push_back({std::move(name), std::move(info)});
  }
  return children;
}

ContentInfo SourceTree::content_info(std::string_view physical_path, const FileInfo&) const {
  std::string bytes = read(physical_path, std::numeric_limits<std::size_t>::max());
  return {sha256_of(bytes), has_private_key_header(bytes), xattrs(physical_path)};
}

std::optional<std::string> SourceTree::resolve(std::string_view path, bool follow_last) const {
  std::deque<std::string> pending;
  for (std::string& part : split(path, '/'))
    if (!part.empty() && part != ".") pending.push_back(std::move(part));

  std::vector<std::string> current;
  int links = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == "..") {
      if (!current.empty()) current.pop_back();
      continue;
    }

    current.push_back(name);
    std::string candidate = join(current, "/");
    std::optional<FileInfo> info = entry(candidate);
    if (!info) return std::nullopt;
    bool last = pending.empty();
    if (info->type == layer::EntryType::symlink && (!last || follow_last)) {
      if (++links > max_symlinks)
        fail("too many levels of symbolic links in ", quote(path), " in ", describe());
      current.pop_back();
      if (info->link_target.starts_with('/')) current.clear();
      std::vector<std::string> target = split(info->link_target, '/');
      for (auto it = target.rbegin(); it != target.rend(); ++it)
        if (!it->empty() && *it != ".") pending.push_front(*it);
      continue;
    }
    if (!last && info->type != layer::EntryType::directory) return std::nullopt;
  }
  return join(current, "/");
}

std::optional<FileInfo> SourceTree::lstat(std::string_view path) const {
  std::optional<std::string> resolved = resolve(path, false);
  if (!resolved) return std::nullopt;
  if (resolved->empty()) return entry("");
  return entry(*resolved);
}

}  // namespace imgbuild::context
