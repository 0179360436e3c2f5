// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/users.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

std::optional<std::uint32_t> parse_id(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Reads a colon-separated database (passwd, group) from the image; empty when
// the file does not exist.
std::vector<std::vector<std::string>> read_database(const SourceTree& root, std::string_view path) {
  std::vector<std::vector<std::string>> rows;
  std::optional<std::string> resolved = root.resolve(path);
  if (!resolved) return rows;
  std::optional<FileInfo> info = root.entry(*resolved);
  if (!info || info->type != layer::EntryType::regular) return rows;
  for (const std::string& line : split(root.read(*resolved, static_cast<std::size_t>(-1)), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    rows.push_back(split(line, ':'));
  }
  return rows;
}

const std::vector<std::string>* find_row(const std::vector<std::vector<std::string>>& rows,
                                         std::string_view name, std::optional<std::uint32_t> id) {
  for (const auto& row : rows) {
    if (row.size() < 3) continue;
    if (id ? parse_id(row[2]) == id : row[0] == name) return &row;
  }
  return nullptr;
}

std::uint32_t resolve_group(const std::vector<std::vector<std::string>>& groups, std::string_view group) {
  if (std::optional<std::uint32_t> gid = parse_id(group)) return *gid;
  const auto* row = find_row(groups, group, std::nullopt);
  if (!row || !parse_id((*row)[2]))
    fail("unknown group ", quote(group), ": no such name in /etc/group of the image; "
         "use a numeric gid or add the group in an earlier step");
  return *parse_id((*row)[2]);
}

std::vector<std::uint32_t> groups_listing(const std::vector<std::vector<std::string>>& groups,
                                          std::string_view user, std::uint32_t primary) {
  std::vector<std::uint32_t> result;
  for (const auto& row : groups) {
    if (row.size() < 4) continue;
    std::optional<std::uint32_t> gid = parse_id(row[2]);
    if (!gid || *gid == primary) continue;
    for (const std::string& member : split(row[3], ','))
      if (trim(member) == user) result.push_back(*gid);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

}  // namespace

UserIds resolve_user(const SourceTree& root, std::string_view spec) {
  std::size_t colon = spec.find(':');
  std::string_view user = spec.substr(0, colon);
  std::optional<std::string_view> group;
  if (colon != std::string_view::npos) group = spec.substr(colon + 1);
  if (user.empty() || (group && group->empty()))
    fail_with(ExitCode::usage, "invalid user ", quote(spec), ": expected NAME|UID[:GROUP|GID]");

  auto passwd = read_database(root, "etc/passwd");
  std::optional<std::uint32_t> numeric = parse_id(user);
  const auto* row = find_row(passwd, user, numeric);
  if (!row && !numeric)
    fail("unknown user ", quote(user), ": no such name in /etc/passwd of the image; "
         "use a numeric uid or create the user in an earlier step");

  UserIds ids;
  std::string name(user);
  if (row) {
    name = (*row)[0];
    ids.uid = parse_id((*row)[2]).value_or(numeric.value_or(0));
    if (row->size() > 3) ids.gid = parse_id((*row)[3]).value_or(0);
    if (row->size() > 5 && !(*row)[5].empty()) ids.home = (*row)[5];
  } else {
    ids.uid = *numeric;
  }

  auto groups = read_database(root, "etc/group");
  if (group) {
    ids.gid = resolve_group(groups, *group);
  } else if (row) {
    ids.additional_gids = groups_listing(groups, name, ids.gid);
  }
  return ids;
}

}  // namespace imgbuild::context
