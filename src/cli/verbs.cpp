// SPDX-License-Identifier: Apache-2.0
#include "verbs.hpp"

namespace imgbuild::cli {

std::vector<Verb> add_verbs(CLI::App& app) {
  std::vector<Verb> verbs;
  verbs.push_back(add_build_verb(app));  // first: the default verb
  verbs.push_back(add_check_verb(app));
  verbs.push_back(add_prune_verb(app));
  verbs.push_back(add_diff_verb(app));
  return verbs;
}

}  // namespace imgbuild::cli
