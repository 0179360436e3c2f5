// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace imgbuild::report::detail {

// Formats unix seconds as RFC 3339 UTC: "2024-05-01T12:00:00Z".
std::string format_rfc3339(std::int64_t seconds);
// Parses the form format_rfc3339 writes; throws Error naming the text otherwise.
std::int64_t parse_rfc3339(std::string_view text);

}  // namespace imgbuild::report::detail
