// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace imgbuild {

// The latest build epoch, in seconds since 1970-01-01 UTC:
// 9999-12-31T23:59:59Z. The image config's "created" is an RFC 3339 date,
// whose year has four digits, so later times cannot be written.
inline constexpr std::int64_t max_epoch_seconds = 253402300799;

}  // namespace imgbuild
