// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/store/epoch.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/time.hpp"

namespace imgbuild::store {

std::int64_t build_epoch(std::optional<std::int64_t> git_commit_time) {
  const char* text = std::getenv("SOURCE_DATE_EPOCH");
  if (text == nullptr || *text == '\0') return git_commit_time.value_or(0);

  std::string_view value(text);
  std::int64_t seconds = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  bool digits_only = value.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || error != std::errc() || end != value.data() + value.size() || seconds > max_epoch_seconds)
    fail_with(ExitCode::usage, "invalid SOURCE_DATE_EPOCH ", quote(value),
              ": expected an integer from 0 to ", max_epoch_seconds,
              " (9999-12-31T23:59:59Z), in seconds since 1970-01-01 UTC");
  return seconds;
}

}  // namespace imgbuild::store
