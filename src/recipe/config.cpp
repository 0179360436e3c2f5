// SPDX-License-Identifier: Apache-2.0
// Reader of [stage.config], the image config a stage gives its image.
#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

// Reads entrypoint or cmd: an argv array, or a string run through the shell.
std::optional<std::vector<std::string>> read_command(Reader& reader, const toml::table& table, std::string_view key,
                                                     const std::string& scope, const Stage& stage) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (node->is_string()) {
    std::vector<std::string> argv = stage.shell;
    argv.push_back(node->as_string()->get());
    return argv;
  }
  if (auto argv = reader.get_strings(table, key, scope, true)) return values_of(*argv);
  return std::nullopt;
}

std::vector<std::string> read_ports(Reader& reader, const toml::table& table, const std::string& scope) {
  const toml::node* node = table.get("ports");
  if (!node) return {};
  if (!node->is_array()) {
    reader.wrong_type(*node, "ports", scope, "an array of ports such as [\"8000/tcp\"]");
    return {};
  }
  std::vector<std::string> ports;
  for (const toml::node& element : *node->as_array()) {
    std::string text;
    if (element.is_integer()) {
      text = std::to_string(element.as_integer()->get());
    } else if (element.is_string()) {
      text = element.as_string()->get();
    } else {
      reader.wrong_type(element, "ports", scope, "a port such as \"8000/tcp\" or 8000");
      continue;
    }
    if (has_variable(text)) {
      ports.push_back(text);
      continue;
    }
    if (auto parsed = reader.parse_value({text, reader.at(element)}, "ports", scope, parse_port))
      ports.insert(ports.end(), parsed->begin(), parsed->end());
  }
  return ports;
}

std::optional<std::int64_t> read_duration(Reader& reader, const toml::table& table, std::string_view key,
                                          const std::string& scope) {
  auto text = reader.get_string(table, key, scope);
  if (!text) return std::nullopt;
  return reader.parse_value(*text, key, scope, parse_duration);
}

std::optional<Healthcheck> read_healthcheck(Reader& reader, const toml::table& config, const std::string& config_scope,
                                            const std::string& stage_scope) {
  const toml::table* table = reader.get_table(config, "healthcheck", config_scope);
  if (!table) return std::nullopt;
  static const std::vector<std::string> keys = {"test", "interval", "timeout", "start_period", "retries"};
  std::string scope = "the healthcheck of " + stage_scope;
  reader.check_keys(*table, keys, scope);
  Healthcheck check;
  check.position = reader.at(*table);

  if (const toml::node* test = table->get("test"); test && test->is_string()) {
    check.test = {"CMD-SHELL", test->as_string()->get()};
  } else if (auto argv = reader.get_strings(*table, "test", scope, true)) {
    check.test = values_of(*argv);
    bool known = !check.test.empty() &&
                 (check.test[0] == "CMD" || check.test[0] == "CMD-SHELL" || check.test[0] == "NONE");
    if (!known)
      reader.error(reader.at(*test), cat("'test' in ", scope,
                                         " must start with \"CMD\", \"CMD-SHELL\" or \"NONE\", such as [\"CMD\", \"curl\", \"-f\", URL]"));
    else if (check.test[0] != "NONE" && check.test.size() < 2)
      reader.error(reader.at(*test), cat("'test' in ", scope, " has no command after ", quote(check.test[0])));
  } else if (!test) {
    reader.missing(*table, "test", scope, "give the command, such as [\"CMD\", \"curl\", \"-f\", URL]");
  }
  check.interval = read_duration(reader, *table, "interval", scope);
  check.timeout = read_duration(reader, *table, "timeout", scope);
  check.start_period = read_duration(reader, *table, "start_period", scope);
  if (auto retries = reader.get_integer(*table, "retries", scope)) {
    if (retries->value < 0 || retries->value > 1000)
      reader.error(retries->position, cat("'retries' in ", scope, " must be 0 to 1000"));
    else
      check.retries = static_cast<int>(retries->value);
  }
  return check;
}

std::vector<std::pair<std::string, std::string>> read_pairs(Reader& reader, const toml::table& table,
                                                            std::string_view key, const std::string& scope,
                                                            StageConfig& config) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (table.contains(key)) config.positions[std::string(key)] = reader.key_at(table, key);
  for (EnvVar& var : reader.get_string_table(table, key, scope)) pairs.emplace_back(var.name, var.value);
  return pairs;
}

}  // namespace

void read_config(Reader& reader, const toml::table& stage_table, const std::string& stage_scope, Stage& stage) {
  std::string scope = "the config of " + stage_scope;
  const toml::table* table = reader.get_table(stage_table, "config", stage_scope);
  if (!table) return;
  static const std::vector<std::string> keys = {"entrypoint", "cmd",    "workdir",     "user",
                                                "env",        "ports",  "volumes",     "labels",
                                                "annotations", "stop_signal", "healthcheck"};
  reader.check_keys(*table, keys, scope);
  StageConfig& config = stage.config;
  config.position = reader.at(*table);
  for (auto&& [key, node] : *table) config.positions[std::string(key.str())] = reader.at(key.source());

  config.entrypoint = read_command(reader, *table, "entrypoint", scope, stage);
  config.cmd = read_command(reader, *table, "cmd", scope, stage);
  if (auto workdir = reader.get_string(*table, "workdir", scope)) config.workdir = workdir->value;
  if (auto user = reader.get_string(*table, "user", scope)) {
    config.user = user->value;
    if (!has_variable(user->value)) reader.parse_value(*user, "user", scope, parse_owner);
  }
  config.env = reader.get_string_table(*table, "env", scope);
  config.ports = read_ports(reader, *table, scope);
  if (auto volumes = reader.get_strings(*table, "volumes", scope, false)) {
    for (const auto& volume : *volumes) {
      if (!volume.value.starts_with('/') && !has_variable(volume.value))
        reader.error(volume.position, cat("'volumes' in ", scope, ": ", quote(volume.value), " must be an absolute path"));
      config.volumes.push_back(volume.value);
    }
  }
  config.labels = read_pairs(reader, *table, "labels", scope, config);
  config.annotations = read_pairs(reader, *table, "annotations", scope, config);
  if (auto signal = reader.get_string(*table, "stop_signal", scope)) {
    config.stop_signal = signal->value;
    if (!has_variable(signal->value)) reader.parse_value(*signal, "stop_signal", scope, [](const std::string& s) {
      check_signal(s);
      return true;
    });
  }
  config.healthcheck = read_healthcheck(reader, *table, scope, stage_scope);
}

}  // namespace imgbuild::recipe
