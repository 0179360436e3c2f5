// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string_view>

#include "imgbuild/recipe/recipe.hpp"

namespace imgbuild::recipe {

// Reads and validates the recipe at `file`. Throws RecipeError listing every
// problem found (syntax, unknown keys, types, references, cycles), or Error
// (usage) when the file cannot be read.
Recipe load_recipe(const std::filesystem::path& file);

// Validates recipe `text` as if read from `file`; relative paths resolve
// against the directory of `file`. Throws RecipeError like load_recipe.
Recipe parse_recipe(std::string_view text, const std::filesystem::path& file);

}  // namespace imgbuild::recipe
