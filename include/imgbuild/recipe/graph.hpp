// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "imgbuild/recipe/recipe.hpp"

namespace imgbuild::recipe {

// Returns the names of the stages `stage` reads from (its base stage and the
// `from` of its copy steps), each once, in recipe order of first use.
std::vector<std::string> stage_dependencies(const Stage& stage);

// Returns the indices of the stages needed to build `target`, each after the
// stages it reads from; ties keep recipe order. The recipe must be validated
// (no cycles, no unknown stages).
std::vector<std::size_t> build_order(const Recipe& recipe, const Stage& target);

}  // namespace imgbuild::recipe
