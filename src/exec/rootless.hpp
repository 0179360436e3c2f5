// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/spec.hpp"

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

struct RootlessIds {
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

// Maps container root to the calling user and container ids 1..N to the
// user's subordinate range, as rootless runc does through newuidmap. Throws
// Error saying which /etc/subuid or /etc/subgid line to add when the ranges
// are missing, or that newuidmap (package uidmap) is missing.
RootlessIds rootless_id_mappings(const std::filesystem::path& subuid = "/etc/subuid",
                                 const std::filesystem::path& subgid = "/etc/subgid");

}  // namespace imgbuild::exec
