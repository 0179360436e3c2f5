// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/load.hpp"

#include <algorithm>

#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys = {"image", "args",  "context", "secrets",
                                                "build", "report", "policy", "stage"};
  return keys;
}

[[noreturn]] void raise(std::vector<Diagnostic> diagnostics, std::string_view text, const std::filesystem::path& file) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
  });
  std::string formatted = format_diagnostics(diagnostics, text);
  throw RecipeError(file, std::move(diagnostics), std::move(formatted));
}

}  // namespace

Recipe parse_recipe(std::string_view text, const std::filesystem::path& file) {
  Recipe recipe;
  recipe.file = file;
  recipe.directory = std::filesystem::absolute(file).parent_path().lexically_normal();
  Reader reader(file, recipe.directory);

  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& error) {
    reader.error(reader.at(error.source()), cat("invalid TOML: ", error.description()));
    raise(std::move(reader.diagnostics()), text, file);
  }

  reader.check_keys(root, top_level_keys(), "the recipe");
  read_image(reader, root, recipe);
  read_args(reader, root, recipe);
  read_context(reader, root, recipe);
  read_secrets(reader, root, recipe);
  read_build(reader, root, recipe);
  read_report(reader, root, recipe);
  recipe.policy = read_policy(reader, root, "the recipe", "[policy]");
  read_stages(reader, root, recipe);
  check_references(reader, recipe);

  if (reader.error_count() > 0) raise(std::move(reader.diagnostics()), text, file);
  return recipe;
}

Recipe load_recipe(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error& error) {
    fail_with(ExitCode::usage, "cannot read recipe: ", error.what());
  }
  return parse_recipe(text, file);
}

}  // namespace imgbuild::recipe
