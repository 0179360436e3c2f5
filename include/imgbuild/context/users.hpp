// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/context/source_tree.hpp"

namespace imgbuild::context {

// The ids a process or a copied file gets for a `user` setting.
struct UserIds {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;  // groups in /etc/group that list the user, sorted
  std::string home = "/";
};

// Resolves "NAME|UID[:GROUP|GID]" through the image's /etc/passwd and
// /etc/group, read from `root` (a RootfsView of the stage). A numeric uid
// missing from /etc/passwd is allowed and gets gid 0 and home "/", as in
// Docker. An unknown name is an error naming it and the file. An explicit
// group replaces the primary group and drops the additional ones.
UserIds resolve_user(const SourceTree& root, std::string_view spec);

}  // namespace imgbuild::context
