// SPDX-License-Identifier: Apache-2.0
#include "reader.hpp"

#include <algorithm>

#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

bool has_variable(std::string_view text) { return text.find('$') != std::string_view::npos; }

std::vector<std::string> values_of(const std::vector<Located<std::string>>& located) {
  std::vector<std::string> values;
  for (const auto& item : located) values.push_back(item.value);
  return values;
}

Position Reader::at(const toml::source_region& region) const {
  return Position{file_, region.begin.line, region.begin.column};
}

Position Reader::key_at(const toml::table& table, std::string_view key) const {
  auto found = table.find(key);
  if (found == table.end()) return at(table);
  return at(found->first.source());
}

void Reader::error(const Position& position, std::string message) {
  diagnostics_.push_back(Diagnostic{position, std::move(message)});
}

std::filesystem::path Reader::resolve(std::string_view path) const {
  std::filesystem::path resolved = (directory_ / std::filesystem::path(path)).lexically_normal();
  // "dir/." normalizes to "dir/"; drop the empty last component.
  if (!resolved.has_filename() && resolved != resolved.root_path()) resolved = resolved.parent_path();
  return resolved;
}

std::size_t Reader::check_keys(const toml::table& table, std::span<const std::string> allowed,
                               std::string_view scope) {
  std::size_t unknown = 0;
  for (auto&& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string message = cat("unknown key ", quote(key.str()), " in ", scope);
    if (std::optional<std::string> suggestion = nearest(key.str(), allowed))
      message += cat("; did you mean ", quote(*suggestion), "?");
    error(at(key.source()), std::move(message));
    ++unknown;
  }
  return unknown;
}

void Reader::missing(const toml::table& table, std::string_view key, std::string_view scope, std::string_view hint) {
  std::string message = cat("missing required key ", quote(key), " in ", scope);
  if (!hint.empty()) message += cat("; ", hint);
  error(at(table), std::move(message));
}

void Reader::wrong_type(const toml::node& node, std::string_view key, std::string_view scope,
                        std::string_view expected) {
  error(at(node), cat(quote(key), " in ", scope, " must be ", expected, ", not ", type_name(node)));
}

std::optional<Located<std::string>> Reader::get_string(const toml::table& table, std::string_view key,
                                                       std::string_view scope) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    wrong_type(*node, key, scope, "a string");
    return std::nullopt;
  }
  return Located<std::string>{node->as_string()->get(), at(*node)};
}

std::optional<bool> Reader::get_bool(const toml::table& table, std::string_view key, std::string_view scope) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (!node->is_boolean()) {
    wrong_type(*node, key, scope, "a boolean (true or false)");
    return std::nullopt;
  }
  return node->as_boolean()->get();
}

std::optional<Located<std::int64_t>> Reader::get_integer(const toml::table& table, std::string_view key,
                                                         std::string_view scope) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (!node->is_integer()) {
    wrong_type(*node, key, scope, "an integer");
    return std::nullopt;
  }
  return Located<std::int64_t>{node->as_integer()->get(), at(*node)};
}

const toml::table* Reader::get_table(const toml::table& table, std::string_view key, std::string_view scope) {
  const toml::node* node = table.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) {
    wrong_type(*node, key, scope, "a table");
    return nullptr;
  }
  return node->as_table();
}

std::optional<std::vector<Located<std::string>>> Reader::get_strings(const toml::table& table, std::string_view key,
                                                                     std::string_view scope, bool single) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  std::string_view expected = single ? "a string or an array of strings" : "an array of strings";
  if (single && node->is_string())
    return std::vector<Located<std::string>>{{node->as_string()->get(), at(*node)}};
  if (!node->is_array()) {
    wrong_type(*node, key, scope, expected);
    return std::nullopt;
  }

  std::vector<Located<std::string>> values;
  for (const toml::node& element : *node->as_array()) {
    if (!element.is_string()) {
      error(at(element), cat(quote(key), " in ", scope, " must be ", expected, ", but it holds ", type_name(element)));
      return std::nullopt;
    }
    values.push_back({element.as_string()->get(), at(element)});
  }
  return values;
}

std::vector<EnvVar> Reader::get_string_table(const toml::table& table, std::string_view key, std::string_view scope) {
  const toml::table* values = get_table(table, key, scope);
  if (!values) return {};

  std::vector<EnvVar> result;
  for (auto&& [name, node] : *values) {
    EnvVar var{std::string(name.str()), {}, at(name.source())};
    if (node.is_string()) {
      var.value = node.as_string()->get();
    } else if (node.is_integer()) {
      var.value = std::to_string(node.as_integer()->get());
    } else if (node.is_boolean()) {
      var.value = node.as_boolean()->get() ? "true" : "false";
    } else {
      error(at(node), cat("value of ", quote(name.str()), " in '", key, "' of ", scope, " must be a string, not ",
                          type_name(node)));
      continue;
    }
    result.push_back(std::move(var));
  }

  // toml++ keeps table keys sorted; the recipe order is the source order.
  std::stable_sort(result.begin(), result.end(), [](const EnvVar& a, const EnvVar& b) {
    return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
  });
  return result;
}

}  // namespace imgbuild::recipe
