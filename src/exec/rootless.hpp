// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::exec {

// A range of subordinate ids from /etc/subuid or /etc/subgid.
struct SubordinateRange {
  std::uint32_t start = 0;
  std::uint32_t count = 0;
};

// Returns the first range in `content` (the text of /etc/subuid or
// /etc/subgid) that belongs to `user` or to its numeric `id`.
std::optional<SubordinateRange> find_subordinate_range(std::string_view content, std::string_view user,
                                                       std::uint32_t id);

// One contiguous id range of a user namespace mapping.
struct IdMapping {
  std::uint32_t inner = 0;
  std::uint32_t outer = 0;
  std::uint32_t size = 0;
};

struct RootlessIds {
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  // True when newuidmap and newgidmap install the subordinate ranges; false
  // when only the caller's own ids are mapped, which the kernel allows
  // without help.
  bool subordinate = false;
  // With only the caller's ids: why, and what would map the ranges.
  std::string limitation;
};

// Maps namespace root to the calling user and ids 1..N to the user's
// subordinate ranges when /etc/subuid and /etc/subgid have them and
// newuidmap is installed; else maps root alone and puts the reason in `limitation`.
RootlessIds rootless_id_mappings(const std::filesystem::path& subuid = "/etc/subuid",
                                 const std::filesystem::path& subgid = "/etc/subgid");

}  // namespace imgbuild::exec
