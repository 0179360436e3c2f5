// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace imgbuild {

// Serializes `value` for a file or a log. A string that is not valid UTF-8
// (a file name of raw bytes, a step's output) gets U+FFFD for its invalid
// bytes instead of failing the whole write, as nlohmann's default would.
inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace imgbuild
