// SPDX-License-Identifier: Apache-2.0
#include "image/file_set.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <vector>

#include "image/read_archive.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image::detail {

namespace {

std::string parent_member(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

void copy_entry_data(archive* handle, const fs::path& target, const fs::path& archive_path, std::string_view name) {
  UniqueFd out = open_file(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<char> buffer(1 << 20);
  while (true) {
    la_ssize_t count = archive_read_data(handle, buffer.data(), buffer.size());
    if (count < 0)
      fail("reading member ", quote(name), " of ", quote(archive_path.string()), ": ", archive_error_string(handle));
    if (count == 0) break;
    write_all(out.get(), std::string_view(buffer.data(), static_cast<std::size_t>(count)));
  }
}

}  // namespace

std::optional<std::string> normalize_member(std::string_view name) {
  std::vector<std::string> parts;
  for (const auto& part : split(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return join(parts, "/");
}

FileSet FileSet::directory(const fs::path& root) {
  if (!fs::is_directory(root)) fail("image directory ", quote(root.string()), " does not exist or is not a directory");
  FileSet set;
  set.origin_ = root;
  set.root_ = root;
  return set;
}

FileSet FileSet::unpack(const fs::path& archive_path, const fs::path& scratch) {
  FileSet set;
  set.origin_ = archive_path;
  set.unpacked_.emplace("image-archive-", scratch);

  ReadArchive reader;
  archive_read_support_format_tar(reader.get());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_zstd(reader.get());
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), 1 << 20) != ARCHIVE_OK)
    fail("cannot open image archive ", quote(archive_path.string()), ": ", archive_error_string(reader.get()));

  archive_entry* entry = nullptr;
  std::size_t counter = 0;
  while (true) {
    int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
      fail("reading image archive ", quote(archive_path.string()), ": ", archive_error_string(reader.get()));

    auto name = normalize_member(archive_entry_pathname(entry));
    if (!name || name->empty()) continue;
    if (const char* hardlink = archive_entry_hardlink(entry)) {
      if (auto target = normalize_member(hardlink)) set.links_[*name] = *target;
      continue;
    }
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      std::string joined = target && target[0] == '/' ? std::string(target) : cat(parent_member(*name), "/", target);
      if (auto resolved = normalize_member(joined)) set.links_[*name] = *resolved;
    } else if (type == AE_IFREG) {
      fs::path host = *set.unpacked_ / std::to_string(counter++);
      copy_entry_data(reader.get(), host, archive_path, *name);
      set.files_[*name] = host;
    }
  }
  return set;
}

std::optional<fs::path> FileSet::find(std::string_view name) const {
  auto normalized = normalize_member(name);
  if (!normalized) return std::nullopt;
  if (!root_.empty()) {
    fs::path path = root_ / *normalized;
    if (!fs::is_regular_file(path)) return std::nullopt;
    return path;
  }

  std::string current = *normalized;
  // A bounded number of hops: a link cycle in a hostile archive ends here.
  for (int hop = 0; hop < 16; ++hop) {
    if (auto file = files_.find(current); file != files_.end()) return file->second;
    auto link = links_.find(current);
    if (link == links_.end()) return std::nullopt;
    current = link->second;
  }
  return std::nullopt;
}

fs::path FileSet::locate(std::string_view name) const {
  auto path = find(name);
  if (!path) fail(quote(name), " is missing from ", quote(origin_.string()), ": the image is incomplete");
  return *path;
}

}  // namespace imgbuild::image::detail
