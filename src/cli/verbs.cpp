// SPDX-License-Identifier: Apache-2.0
#include "verbs.hpp"

#include <charconv>
#include <string>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::cli {

CLI::Validator integer_range(std::int64_t min, std::int64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        std::int64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        bool valid = error == std::errc() && end == text.data() + text.size() && value >= min && value <= max;
        if (valid) return {};
        return cat("invalid value ", quote(text), ": expected an integer from ", min, " to ", max);
      },
      cat(min, "-", max));
}

std::vector<Verb> add_verbs(CLI::App& app) {
  std::vector<Verb> verbs;
  verbs.push_back(add_build_verb(app));  // first: the default verb
  verbs.push_back(add_check_verb(app));
  verbs.push_back(add_prune_verb(app));
  verbs.push_back(add_diff_verb(app));
  return verbs;
}

}  // namespace imgbuild::cli
