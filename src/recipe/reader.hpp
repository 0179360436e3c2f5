// SPDX-License-Identifier: Apache-2.0
// Typed access to a toml++ tree that records a diagnostic, with the source
// position, for every missing, unknown or mistyped key instead of throwing,
// so one run reports every problem in a recipe.
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/recipe/recipe.hpp"

namespace imgbuild::recipe {

class Reader {
 public:
  Reader(std::filesystem::path file, std::filesystem::path directory)
      : file_(std::move(file)), directory_(std::move(directory)) {}

  Position at(const toml::source_region& region) const;
  Position at(const toml::node& node) const { return at(node.source()); }
  // Returns the position of `key` in `table`, or of the table without it.
  Position key_at(const toml::table& table, std::string_view key) const;

  void error(const Position& position, std::string message);
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }
  std::size_t error_count() const { return diagnostics_.size(); }

  // Resolves a recipe-relative path against the recipe's directory.
  std::filesystem::path resolve(std::string_view path) const;

  // Reports every key of `table` not in `allowed`, suggesting the nearest.
  // Returns the number of unknown keys.
  std::size_t check_keys(const toml::table& table, std::span<const std::string> allowed, std::string_view scope);

  // Reports a required key that `table` lacks.
  void missing(const toml::table& table, std::string_view key, std::string_view scope, std::string_view hint = {});

  // Reports that `key` holds `node` where `expected` ("a string") belongs.
  void wrong_type(const toml::node& node, std::string_view key, std::string_view scope, std::string_view expected);

  // Typed getters: nothing when the key is absent or has the wrong type (the
  // latter is reported).
  std::optional<Located<std::string>> get_string(const toml::table& table, std::string_view key, std::string_view scope);
  std::optional<bool> get_bool(const toml::table& table, std::string_view key, std::string_view scope);
  std::optional<Located<std::int64_t>> get_integer(const toml::table& table, std::string_view key, std::string_view scope);
  const toml::table* get_table(const toml::table& table, std::string_view key, std::string_view scope);
  // A string or an array of strings when `single` is true, else an array.
  std::optional<std::vector<Located<std::string>>> get_strings(const toml::table& table, std::string_view key,
                                                           std::string_view scope, bool single);
  // A table whose values are strings (integers and booleans are taken as
  // text), in the order the recipe writes them.
  std::vector<EnvVar> get_string_table(const toml::table& table, std::string_view key, std::string_view scope);

  // Runs `parse` on `value`; an Error it throws becomes a diagnostic at
  // `position` reading "'KEY' in SCOPE: <message>".
  template <typename Parse>
  auto parse_value(const Located<std::string>& value, std::string_view key, std::string_view scope, Parse&& parse)
      -> std::optional<decltype(parse(value.value))> {
    try {
      return parse(value.value);
    } catch (const Error& failure) {
      error(value.position, cat("'", key, "' in ", scope, ": ", failure.what()));
      return std::nullopt;
    }
  }

 private:
  std::filesystem::path file_;
  std::filesystem::path directory_;
  std::vector<Diagnostic> diagnostics_;
};

// Returns "a string", "an integer", ... for a node's type, for messages.
std::string_view type_name(const toml::node& node);

// True when `text` contains a variable reference the build expands later,
// so its form can only be checked then.
bool has_variable(std::string_view text);

// Returns strings as a std::vector<std::string>, dropping positions.
std::vector<std::string> values_of(const std::vector<Located<std::string>>& located);

}  // namespace imgbuild::recipe
