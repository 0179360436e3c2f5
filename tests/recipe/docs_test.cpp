// SPDX-License-Identifier: Apache-2.0
// Every complete recipe example in docs/recipe.md validates.
#include <catch2/catch.hpp>

#include "imgbuild/recipe/load.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/toolkit.hpp"

namespace recipe = imgbuild::recipe;

namespace {

// Returns the ```toml blocks of a Markdown text.
std::vector<std::string> toml_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  while ((pos = markdown.find("```toml\n", pos)) != std::string::npos) {
    pos += 8;
    std::size_t end = markdown.find("```\n", pos);
    blocks.push_back(markdown.substr(pos, end - pos));
    pos = end;
  }
  return blocks;
}

}  // namespace

TEST_CASE("recipe: documented examples validate", "[recipe]") {
  std::string markdown = imgbuild::read_file(imgbuild::test::source_dir() / "docs/recipe.md");
  std::size_t checked = 0;
  for (const std::string& block : toml_blocks(markdown)) {
    // Fragments of one table are shown alone; only blocks with a stage are
    // whole recipes.
    if (block.find("[[stage]]") == std::string::npos) continue;
    std::string text = block.find("[image]") == std::string::npos ? "[image]\nname = \"localhost/doc\"\n" + block : block;
    INFO(text);
    try {
      recipe::parse_recipe(text, "docs/example.toml");
    } catch (const recipe::RecipeError& error) {
      FAIL(error.formatted());
    }
    ++checked;
  }
  CHECK(checked >= 17);
}
