// SPDX-License-Identifier: Apache-2.0
#include "exec/rootless.hpp"

#include <charconv>
#include <pwd.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::exec {
namespace {

std::optional<std::uint32_t> parse_number(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string user_name(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

std::string read_if_exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error) ? read_file(path) : std::string();
}

std::string missing_ranges(const std::string& name, const std::filesystem::path& file,
                           const std::filesystem::path& subuid, const std::filesystem::path& subgid) {
  return cat(file.string(), " has no range for user ", quote(name), ": add the line '", name, ":100000:65536' to ",
             subuid.string(), " and ", subgid.string(), " (as root: usermod --add-subuids 100000-165535 ",
             "--add-subgids 100000-165535 ", name, ")");
}

}  // namespace

std::optional<SubordinateRange> find_subordinate_range(std::string_view content, std::string_view user,
                                                       std::uint32_t id) {
  for (const auto& line : split(content, '\n')) {
    auto fields = split(trim(line), ':');
    if (fields.size() != 3 || (fields[0] != user && parse_number(fields[0]) != id)) continue;
    auto start = parse_number(fields[1]);
    auto count = parse_number(fields[2]);
    if (start && count && *count > 0) return SubordinateRange{*start, *count};
  }
  return std::nullopt;
}

RootlessIds rootless_id_mappings(const std::filesystem::path& subuid, const std::filesystem::path& subgid) {
  auto uid = static_cast<std::uint32_t>(::geteuid());
  auto gid = static_cast<std::uint32_t>(::getegid());
  std::string name = user_name(uid);

  RootlessIds ids;
  ids.uid_mappings = {{0, uid, 1}};
  ids.gid_mappings = {{0, gid, 1}};
  auto uid_range = find_subordinate_range(read_if_exists(subuid), name, uid);
  auto gid_range = find_subordinate_range(read_if_exists(subgid), name, uid);
  if (!uid_range) {
    ids.limitation = missing_ranges(name, subuid, subuid, subgid);
  } else if (!gid_range) {
    ids.limitation = missing_ranges(name, subgid, subuid, subgid);
  } else if (!find_program("newuidmap") || !find_program("newgidmap")) {
    ids.limitation = "newuidmap and newgidmap are missing: install the uidmap package";
  } else {
    ids.uid_mappings.push_back({1, uid_range->start, uid_range->count});
    ids.gid_mappings.push_back({1, gid_range->start, gid_range->count});
    ids.subordinate = true;
  }
  return ids;
}

}  // namespace imgbuild::exec
