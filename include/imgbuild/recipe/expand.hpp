// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgbuild/recipe/recipe.hpp"

namespace imgbuild::recipe {

// Returns the value of a variable, or nothing when it is unset.
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

// Expands variable references the way a Dockerfile does in ENV, WORKDIR,
// COPY and the other instructions except RUN. `$NAME` and `${NAME}` give the
// value, and an unset variable gives "". `${NAME:-word}` gives word when NAME
// is unset or empty. `${NAME:+word}` gives word when NAME is set and not
// empty. The word is expanded too. `\$` is a literal `$` and `\\` a literal
// `\`, while any other backslash stays as it is. Throws Error (usage) on an
// unterminated `${` or an unsupported operator.
std::string expand(std::string_view text, const Lookup& lookup);

// An ordered environment, as in an image config's Env: each name once.
using EnvList = std::vector<std::pair<std::string, std::string>>;

// Returns the value of `name` in `env`, or nothing.
std::optional<std::string> find_env(const EnvList& env, std::string_view name);

// Sets `name` in `env`: replaces the value in place, or appends.
void set_env(EnvList& env, std::string name, std::string value);

// Applies one env step to `env`. Every value is expanded against the
// environment as it was before the step (then `fallback`, usually the
// visible build args), so `abc=bye def=$abc` after `abc=hello` sets
// def=hello, as Docker does.
void apply_env_step(EnvList& env, const std::vector<EnvVar>& step, const Lookup& fallback);

}  // namespace imgbuild::recipe
