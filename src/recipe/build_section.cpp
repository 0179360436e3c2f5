// SPDX-License-Identifier: Apache-2.0
// Readers of [build] and of the policy tables.
#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/time.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

// Reads a key holding one of a few words through `parse` (which throws for
// other words), recording the key's position.
template <typename Parse>
auto read_word(Reader& reader, const toml::table& table, std::string_view key, BuildSection& build, Parse&& parse)
    -> std::optional<decltype(parse(std::string()))> {
  auto value = reader.get_string(table, key, "[build]");
  if (!value) return std::nullopt;
  build.positions[std::string(key)] = value->position;
  return reader.parse_value(*value, key, "[build]", parse);
}

void read_outputs(Reader& reader, const toml::table& table, const std::filesystem::path& directory,
                  BuildSection& build) {
  auto outputs = reader.get_strings(table, "outputs", "[build]", false);
  if (!outputs) return;
  build.positions["outputs"] = reader.key_at(table, "outputs");
  for (const auto& text : *outputs) {
    auto output = reader.parse_value(text, "outputs", "[build]",
                                     [&](const std::string& value) { return parse_output(value, directory); });
    if (!output) continue;
    output->position = text.position;
    build.outputs.push_back(std::move(*output));
  }
}

void read_numbers(Reader& reader, const toml::table& table, BuildSection& build) {
  if (auto jobs = reader.get_integer(table, "jobs", "[build]")) {
    build.positions["jobs"] = jobs->position;
    if (jobs->value < 0 || jobs->value > 1024)
      reader.error(jobs->position, "'jobs' in [build] must be 0 (one per core) to 1024");
    else
      build.jobs = static_cast<int>(jobs->value);
  }
  if (auto epoch = reader.get_integer(table, "source_date_epoch", "[build]")) {
    build.positions["source_date_epoch"] = epoch->position;
    if (epoch->value < 0 || epoch->value > max_epoch_seconds)
      reader.error(epoch->position, cat("'source_date_epoch' in [build] is ", epoch->value,
                                        ", out of range: use an integer from 0 to ", max_epoch_seconds,
                                        " (9999-12-31T23:59:59Z), in seconds since 1970-01-01 UTC"));
    else
      build.source_date_epoch = epoch->value;
  }
}

// Reads a table of ecosystem -> package globs, such as
// forbid_packages = { deb = ["gcc*"], python = [] }.
std::map<std::string, std::vector<std::string>> read_packages(Reader& reader, const toml::table& table,
                                                              std::string_view key, std::string_view scope,
                                                              Policy& policy) {
  static const std::vector<std::string> ecosystems = {"deb", "python"};
  std::map<std::string, std::vector<std::string>> packages;
  const toml::table* by_ecosystem = reader.get_table(table, key, scope);
  if (!by_ecosystem) return packages;
  policy.positions[std::string(key)] = reader.key_at(table, key);

  std::string inner_scope = cat("'", key, "' of ", scope);
  reader.check_keys(*by_ecosystem, ecosystems, inner_scope);
  for (const std::string& ecosystem : ecosystems) {
    if (auto globs = reader.get_strings(*by_ecosystem, ecosystem, inner_scope, false))
      packages[ecosystem] = values_of(*globs);
  }
  return packages;
}

// Reads a size given as a string with a unit or as an integer of bytes.
std::optional<std::uint64_t> read_size(Reader& reader, const toml::table& table, std::string_view key,
                                       std::string_view scope, Policy& policy) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  policy.positions[std::string(key)] = reader.at(*node);
  if (node->is_integer()) {
    std::int64_t bytes = node->as_integer()->get();
    if (bytes >= 0) return static_cast<std::uint64_t>(bytes);
    reader.error(reader.at(*node), cat(quote(key), " in ", scope, " is ", bytes,
                                       ": a size must not be negative; give a number of bytes or a size such as \"150MB\""));
    return std::nullopt;
  }
  if (!node->is_string()) {
    reader.wrong_type(*node, key, scope, "a size such as \"150MB\" or a number of bytes");
    return std::nullopt;
  }
  return reader.parse_value(Located<std::string>{node->as_string()->get(), reader.at(*node)}, key, scope,
                            parse_size);
}

}  // namespace

const std::vector<std::string>& default_volatile_paths() {
  // dpkg, apt, update-alternatives, ldconfig and debconf rewrite these with
  // the current time (or a backup of the previous state) on every run, so
  // keeping them would make every layer differ. In layer::ScanOptions
  // patterns '*' also matches '/'.
  static const std::vector<std::string> paths = {
      "var/log/dpkg.log",           "var/log/apt/*",           "var/log/alternatives.log",
      "var/cache/ldconfig/aux-cache", "var/cache/debconf/*-old", "var/lib/dpkg/*-old",
      "var/cache/apt/*.bin",
  };
  return paths;
}

void read_build(Reader& reader, const toml::table& root, Recipe& recipe) {
  BuildSection& build = recipe.build;
  build.volatile_paths = default_volatile_paths();
  const toml::table* table = reader.get_table(root, "build", "the recipe");
  if (!table) return;
  static const std::vector<std::string> keys = {"format", "compression", "platform", "runtime", "network",
                                                "no_new_privileges", "jobs", "source_date_epoch", "volatile",
                                                "outputs"};
  reader.check_keys(*table, keys, "[build]");

  build.format = read_word(reader, *table, "format", build, parse_image_format);
  if (auto compression = read_word(reader, *table, "compression", build, parse_compression))
    build.compression = *compression;
  if (auto network = read_word(reader, *table, "network", build, parse_network)) build.network = *network;
  if (auto platform = read_word(reader, *table, "platform", build, parse_platform))
    build.platform = join(*platform, "/");
  auto runtime = read_word(reader, *table, "runtime", build, [](const std::string& name) {
    if (name != "runc" && name != "crun")
      fail_with(ExitCode::usage, "unknown runtime ", quote(name), "; use runc or crun");
    return name;
  });
  if (runtime) build.runtime = *runtime;
  if (auto no_new_privileges = reader.get_bool(*table, "no_new_privileges", "[build]"))
    build.no_new_privileges = *no_new_privileges;
  read_numbers(reader, *table, build);

  if (auto paths = reader.get_strings(*table, "volatile", "[build]", false)) {
    build.positions["volatile"] = reader.key_at(*table, "volatile");
    build.volatile_paths.clear();
    for (const auto& path : *paths) {
      std::string relative = path.value;
      while (relative.starts_with('/')) relative.erase(0, 1);
      build.volatile_paths.push_back(relative);
    }
  }
  read_outputs(reader, *table, recipe.directory, build);
}

std::optional<Policy> read_policy(Reader& reader, const toml::table& parent, std::string_view parent_scope,
                                  std::string_view scope) {
  const toml::table* table = reader.get_table(parent, "policy", parent_scope);
  if (!table) return std::nullopt;
  static const std::vector<std::string> keys = {"forbid_packages", "require_packages", "forbid_paths",
                                                "max_compressed_size", "max_uncompressed_size",
                                                "require_non_root", "require_healthcheck"};
  reader.check_keys(*table, keys, scope);
  Policy policy;
  policy.position = reader.at(*table);

  policy.forbid_packages = read_packages(reader, *table, "forbid_packages", scope, policy);
  policy.require_packages = read_packages(reader, *table, "require_packages", scope, policy);
  if (auto paths = reader.get_strings(*table, "forbid_paths", scope, false)) {
    policy.positions["forbid_paths"] = reader.key_at(*table, "forbid_paths");
    for (const auto& path : *paths) {
      if (!path.value.starts_with('/'))
        reader.error(path.position, cat("'forbid_paths' in ", scope, ": ", quote(path.value),
                                        " must be an absolute path or glob, such as /usr/bin/gcc*"));
      policy.forbid_paths.push_back(path.value);
    }
  }
  policy.max_compressed_size = read_size(reader, *table, "max_compressed_size", scope, policy);
  policy.max_uncompressed_size = read_size(reader, *table, "max_uncompressed_size", scope, policy);
  for (const char* key : {"require_non_root", "require_healthcheck"}) {
    std::optional<bool> value = reader.get_bool(*table, key, scope);
    if (!value) continue;
    policy.positions[key] = reader.key_at(*table, key);
    (std::string_view(key) == "require_non_root" ? policy.require_non_root : policy.require_healthcheck) = *value;
  }
  return policy;
}

}  // namespace imgbuild::recipe
