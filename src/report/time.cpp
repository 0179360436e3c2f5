// SPDX-License-Identifier: Apache-2.0
#include "report/time.hpp"

#include <cstdio>
#include <ctime>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::report::detail {

std::string format_rfc3339(std::int64_t seconds) {
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

std::int64_t parse_rfc3339(std::string_view text) {
  std::tm parts{};
  char zone = 0;
  int fields = std::sscanf(std::string(text).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &parts.tm_year,
                           &parts.tm_mon, &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec,
                           &zone);
  if (fields != 7 || zone != 'Z')
    fail("invalid timestamp ", quote(text), "; expected UTC RFC 3339 like '2024-05-01T12:00:00Z'");
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&parts));
}

}  // namespace imgbuild::report::detail
