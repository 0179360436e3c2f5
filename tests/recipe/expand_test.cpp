// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <map>

#include "imgbuild/recipe/expand.hpp"

namespace recipe = imgbuild::recipe;

namespace {

recipe::Lookup lookup_in(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto found = values.find(std::string(name));
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
}

std::string expand_with(std::string_view text) {
  return recipe::expand(text, lookup_in({{"A", "alpha"}, {"EMPTY", ""}, {"P", "/opt/app"}, {"X_1", "x"}}));
}

std::string expand_error(std::string_view text) {
  try {
    expand_with(text);
  } catch (const imgbuild::Error& error) {
    CHECK(error.code() == imgbuild::ExitCode::usage);
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("recipe: expand plain and braced names", "[recipe]") {
  CHECK(expand_with("$A") == "alpha");
  CHECK(expand_with("${A}") == "alpha");
  CHECK(expand_with("pre-${A}-post") == "pre-alpha-post");
  CHECK(expand_with("$P/bin") == "/opt/app/bin");
  CHECK(expand_with("$X_1.txt") == "x.txt");
  CHECK(expand_with("$Ab") == "");
  CHECK(expand_with("${UNSET}") == "");
  CHECK(expand_with("no variables") == "no variables");
}

TEST_CASE("recipe: expand defaults and alternatives", "[recipe]") {
  CHECK(expand_with("${UNSET:-fallback}") == "fallback");
  CHECK(expand_with("${EMPTY:-fallback}") == "fallback");
  CHECK(expand_with("${A:-fallback}") == "alpha");
  CHECK(expand_with("${A:+set}") == "set");
  CHECK(expand_with("${EMPTY:+set}") == "");
  CHECK(expand_with("${UNSET:+set}") == "");
  CHECK(expand_with("${UNSET:-$A/x}") == "alpha/x");
  CHECK(expand_with("${UNSET:-${P}/bin}") == "/opt/app/bin");
  CHECK(expand_with("${UNSET:-}") == "");
}

TEST_CASE("recipe: expand escapes and lone dollars", "[recipe]") {
  CHECK(expand_with("\\$A") == "$A");
  CHECK(expand_with("\\${A}") == "${A}");
  CHECK(expand_with("cost: 5$") == "cost: 5$");
  CHECK(expand_with("$ $1 $-") == "$ $1 $-");
  CHECK(expand_with("C:\\path\\n") == "C:\\path\\n");
  CHECK(expand_with("\\\\$A") == "\\alpha");
  CHECK(expand_with("a\\\\b") == "a\\b");
}

TEST_CASE("recipe: expand errors", "[recipe]") {
  CHECK(expand_error("${A") == "unterminated ${ at offset 0 in '${A'; add the closing '}'");
  CHECK(expand_error("x${UNSET:-abc") == "unterminated ${ at offset 1 in 'x${UNSET:-abc'; add the closing '}'");
  CHECK(expand_error("${}") == "bad substitution in '${}': ${ must be followed by a variable name");
  CHECK(expand_error("${1}") == "bad substitution in '${1}': ${ must be followed by a variable name");
  CHECK(expand_error("${A#x}") ==
        "bad substitution in '${A#x}': after ${A only '}', ':-word}' and ':+word}' are supported");
}

TEST_CASE("recipe: env step sees env before the step", "[recipe]") {
  recipe::EnvList env = {{"PATH", "/usr/bin"}};
  auto args = lookup_in({{"unset_var", ""}, {"VERSION", "2"}});
  recipe::apply_env_step(env, {{"abc", "hello", {}}}, args);
  recipe::apply_env_step(env, {{"abc", "bye", {}}, {"def", "$abc", {}}}, args);
  recipe::apply_env_step(env, {{"ghi", "$abc", {}}}, args);
  recipe::apply_env_step(env, {{"dflt", "${unset_var:-fallback}", {}}, {"alt", "${abc:+set}", {}}}, args);
  recipe::apply_env_step(env, {{"p", "/opt/app", {}}, {"v", "$VERSION", {}}}, args);
  recipe::apply_env_step(env, {{"PATH", "/opt/venv/bin:${PATH}", {}}}, args);

  recipe::EnvList expected = {{"PATH", "/opt/venv/bin:/usr/bin"}, {"abc", "bye"}, {"def", "hello"},
                              {"ghi", "bye"}, {"dflt", "fallback"}, {"alt", "set"},
                              {"p", "/opt/app"}, {"v", "2"}};
  CHECK(env == expected);
  CHECK(recipe::expand("$p/bin", [&](std::string_view name) { return recipe::find_env(env, name); }) ==
        "/opt/app/bin");
}

TEST_CASE("recipe: env wins over build args", "[recipe]") {
  recipe::EnvList env = {{"MODE", "env"}};
  recipe::apply_env_step(env, {{"OUT", "$MODE", {}}}, lookup_in({{"MODE", "arg"}}));
  CHECK(recipe::find_env(env, "OUT") == "env");
}
