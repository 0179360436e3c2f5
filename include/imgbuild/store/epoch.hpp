// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>

namespace imgbuild::store {

// Returns the time that clamps every timestamp a build writes (file mtimes in
// layers, image `created`, history): $SOURCE_DATE_EPOCH when set, else
// `git_commit_time` (the recipe repository's HEAD commit), else 0. Throws
// naming the value when SOURCE_DATE_EPOCH is not an integer from 0 to
// max_epoch_seconds (9999-12-31T23:59:59Z).
std::int64_t build_epoch(std::optional<std::int64_t> git_commit_time);

}  // namespace imgbuild::store
