// SPDX-License-Identifier: Apache-2.0
// The readers of each part of a recipe. Each fills its part of `recipe` and
// records diagnostics in `reader`; none throws for a recipe error.
#pragma once

#include "reader.hpp"

namespace imgbuild::recipe {

void read_image(Reader& reader, const toml::table& root, Recipe& recipe);
void read_args(Reader& reader, const toml::table& root, Recipe& recipe);
void read_context(Reader& reader, const toml::table& root, Recipe& recipe);
void read_secrets(Reader& reader, const toml::table& root, Recipe& recipe);
void read_build(Reader& reader, const toml::table& root, Recipe& recipe);
void read_report(Reader& reader, const toml::table& root, Recipe& recipe);
// Reads the `policy` table of `parent`; `parent_scope` names the parent
// ("the recipe", "stage 'x'") and `scope` the policy table in messages.
std::optional<Policy> read_policy(Reader& reader, const toml::table& parent, std::string_view parent_scope,
                                  std::string_view scope);
void read_stages(Reader& reader, const toml::table& root, Recipe& recipe);
// Read the [[stage.step]] tables and the [stage.config] table of `stage`;
// `scope` names the stage in messages ("stage 'runtime'").
void read_steps(Reader& reader, const toml::table& table, const std::string& scope, Stage& stage);
void read_config(Reader& reader, const toml::table& table, const std::string& scope, Stage& stage);

// Checks what spans the whole recipe: stage names, references between
// stages and cycles, the target, and the secrets and args steps name.
void check_references(Reader& reader, Recipe& recipe);

}  // namespace imgbuild::recipe
