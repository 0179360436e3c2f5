// SPDX-License-Identifier: Apache-2.0
// Readers of [[stage.step]] tables. A step has exactly one kind key (run,
// copy, env, workdir or user); env next to run is that step's extra env.
#include <algorithm>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

const std::vector<std::string>& kind_keys() {
  static const std::vector<std::string> keys = {"run", "copy", "env", "workdir", "user"};
  return keys;
}

// The keys each kind accepts besides its kind key; `args` fits every kind.
const std::vector<std::string>& keys_of(StepKind kind) {
  static const std::vector<std::string> run = {"run", "env", "network", "secrets", "cache", "shell", "args"};
  static const std::vector<std::string> copy = {"copy", "from", "to", "owner", "mode", "args"};
  static const std::vector<std::string> env = {"env", "args"};
  static const std::vector<std::string> workdir = {"workdir", "args"};
  static const std::vector<std::string> user = {"user", "args"};
  switch (kind) {
    case StepKind::run: return run;
    case StepKind::copy: return copy;
    case StepKind::env: return env;
    case StepKind::workdir: return workdir;
    case StepKind::user: return user;
  }
  return run;
}

const std::vector<std::string>& all_step_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> all;
    for (StepKind kind : {StepKind::run, StepKind::copy, StepKind::env, StepKind::workdir, StepKind::user})
      for (const std::string& key : keys_of(kind))
        if (std::find(all.begin(), all.end(), key) == all.end()) all.push_back(key);
    return all;
  }();
  return keys;
}

// Returns the kind keys the step sets, in kind_keys() order.
std::vector<std::string> kinds_present(const toml::table& table) {
  std::vector<std::string> present;
  for (const std::string& key : kind_keys()) {
    if (key == "env" && table.contains("run")) continue;
    if (table.contains(key)) present.push_back(key);
  }
  return present;
}

StepKind kind_named(std::string_view key) {
  const auto& keys = kind_keys();
  return static_cast<StepKind>(std::find(keys.begin(), keys.end(), key) - keys.begin());
}

CacheMount read_cache_table(Reader& reader, const toml::table& table, const std::string& scope) {
  static const std::vector<std::string> keys = {"target", "id", "sharing"};
  reader.check_keys(table, keys, scope);
  CacheMount mount;
  mount.position = reader.at(table);
  if (auto target = reader.get_string(table, "target", scope))
    mount.target = target->value;
  else if (!table.contains("target"))
    reader.missing(table, "target", scope);
  if (auto id = reader.get_string(table, "id", scope)) mount.id = id->value;
  if (auto sharing = reader.get_string(table, "sharing", scope)) {
    if (sharing->value == "shared")
      mount.sharing = CacheMount::Sharing::shared;
    else if (sharing->value == "private")
      mount.sharing = CacheMount::Sharing::private_;
    else if (sharing->value == "locked")
      mount.sharing = CacheMount::Sharing::locked;
    else
      reader.error(sharing->position, cat("'sharing' in ", scope, ": unknown mode ", quote(sharing->value),
                                          "; use shared, private or locked"));
  }
  return mount;
}

std::vector<CacheMount> read_cache(Reader& reader, const toml::table& table, const std::string& scope) {
  const toml::node* node = table.get("cache");
  if (!node) return {};
  if (!node->is_array()) {
    reader.wrong_type(*node, "cache", scope, "an array of targets or { target = ..., id = ..., sharing = ... } tables");
    return {};
  }
  std::vector<CacheMount> mounts;
  const toml::array& array = *node->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = array[i];
    CacheMount mount;
    if (element.is_string()) {
      mount.target = element.as_string()->get();
      mount.position = reader.at(element);
    } else if (element.is_table()) {
      mount = read_cache_table(reader, *element.as_table(), cat("cache mount ", i + 1, " of ", scope));
    } else {
      reader.wrong_type(element, "cache", scope, "a target path or a table");
      continue;
    }
    if (!mount.target.empty() && !mount.target.starts_with('/'))
      reader.error(mount.position, cat("invalid cache target ", quote(mount.target), " in ", scope,
                                       ": it must be an absolute path, such as /var/cache/apt"));
    if (mount.id.empty()) mount.id = mount.target;
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

RunStep read_run(Reader& reader, const toml::table& table, const std::string& scope, const Stage& stage) {
  RunStep run;
  const toml::node& command = *table.get("run");
  std::vector<std::string> shell = stage.shell;
  if (auto step_shell = reader.get_strings(table, "shell", scope, false); step_shell && !step_shell->empty())
    shell = values_of(*step_shell);

  // A string is handled first, so `single` below only makes a type error
  // name both accepted forms.
  if (command.is_string()) {
    run.shell_form = true;
    run.argv = shell;
    run.argv.push_back(command.as_string()->get());
  } else if (auto argv = reader.get_strings(table, "run", scope, /*single=*/true)) {
    run.argv = values_of(*argv);
    if (run.argv.empty()) reader.error(reader.at(command), cat("'run' in ", scope, " is an empty command"));
  } else {
    return run;  // get_strings reported the type
  }
  if (command.is_string() && trim(command.as_string()->get()).empty())
    reader.error(reader.at(command), cat("'run' in ", scope, " is an empty command"));

  run.env = reader.get_string_table(table, "env", scope);
  if (auto network = reader.get_string(table, "network", scope))
    run.network = reader.parse_value(*network, "network", scope, parse_network);
  if (auto secrets = reader.get_strings(table, "secrets", scope, false)) run.secrets = *secrets;
  run.cache = read_cache(reader, table, scope);
  return run;
}

// Checks that a context source stays inside the build context.
void check_context_source(Reader& reader, const Located<std::string>& source, const std::string& scope) {
  if (source.value.empty()) {
    reader.error(source.position, cat("empty copy source in ", scope));
    return;
  }
  std::string relative = source.value;
  while (relative.starts_with('/')) relative.erase(0, 1);  // "/x" means x at the context root
  std::string normal = std::filesystem::path(relative.empty() ? "." : relative).lexically_normal().string();
  if (normal == ".." || normal.starts_with("../"))
    reader.error(source.position, cat("copy source ", quote(source.value), " in ", scope,
                                      " leaves the build context; sources are paths inside the context directory"));
}

CopyStep read_copy(Reader& reader, const toml::table& table, const std::string& scope) {
  CopyStep copy;
  if (auto sources = reader.get_strings(table, "copy", scope, true)) copy.sources = *sources;
  if (auto from = reader.get_string(table, "from", scope)) copy.from = *from;
  if (!copy.from)
    for (const auto& source : copy.sources) check_context_source(reader, source, scope);

  if (auto to = reader.get_string(table, "to", scope)) {
    copy.destination = *to;
    if (to->value.empty()) reader.error(to->position, cat("'to' in ", scope, " is empty; give a destination path"));
  } else if (!table.contains("to")) {
    reader.missing(table, "to", scope, "give the destination path, ending in '/' for a directory");
  }
  if (auto owner = reader.get_string(table, "owner", scope)) {
    copy.owner = owner->value;
    if (!has_variable(owner->value)) reader.parse_value(*owner, "owner", scope, parse_owner);
  }
  if (const toml::node* mode = table.get("mode")) {
    // A bare decimal 644 would mean 01204; only 0o644 or a string is octal.
    bool octal = mode->is_integer() && mode->as_integer()->flags() == toml::value_flags::format_as_octal;
    if (octal && mode->as_integer()->get() >= 0 && mode->as_integer()->get() <= 07777)
      copy.mode = static_cast<std::uint32_t>(mode->as_integer()->get());
    else if (mode->is_string())
      copy.mode = reader.parse_value({mode->as_string()->get(), reader.at(*mode)}, "mode", scope, parse_mode);
    else
      reader.wrong_type(*mode, "mode", scope, "an octal string such as \"0644\" (or 0o644)");
  }
  return copy;
}

Step read_step(Reader& reader, const toml::table& table, const Stage& stage, const std::string& stage_scope,
               std::size_t number) {
  Step step;
  step.number = number;
  step.position = reader.at(table);
  std::string scope = cat("step ", number, " of ", stage_scope);
  std::size_t unknown = reader.check_keys(table, all_step_keys(), scope);

  std::vector<std::string> kinds = kinds_present(table);
  if (kinds.empty()) {
    // An unknown key is most likely the misspelled kind; one message is enough.
    if (unknown == 0)
      reader.error(step.position, cat(scope, " has no kind; set exactly one of run, copy, env, workdir or user"));
    return step;
  }
  if (kinds.size() > 1) {
    reader.error(reader.key_at(table, kinds[1]), cat(scope, " sets both ", quote(kinds[0]), " and ", quote(kinds[1]),
                                                     "; set exactly one of run, copy, env, workdir or user"));
    return step;
  }

  StepKind kind = kind_named(kinds.front());
  const auto& allowed = keys_of(kind);
  for (auto&& [key, node] : table) {
    bool known = std::find(all_step_keys().begin(), all_step_keys().end(), key.str()) != all_step_keys().end();
    if (known && std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
      reader.error(reader.at(key.source()), cat("key ", quote(key.str()), " is not valid in a ", to_string(kind),
                                                " step (", scope, ")"));
  }
  if (auto args = reader.get_strings(table, "args", scope, false)) step.args = *args;

  switch (kind) {
    case StepKind::run: step.body = read_run(reader, table, scope, stage); break;
    case StepKind::copy: step.body = read_copy(reader, table, scope); break;
    case StepKind::env: step.body = EnvStep{reader.get_string_table(table, "env", scope)}; break;
    case StepKind::workdir: {
      auto path = reader.get_string(table, "workdir", scope);
      if (path && path->value.empty()) reader.error(path->position, cat("'workdir' in ", scope, " is empty"));
      step.body = WorkdirStep{path ? path->value : ""};
      break;
    }
    case StepKind::user: {
      auto user = reader.get_string(table, "user", scope);
      if (user && !has_variable(user->value)) reader.parse_value(*user, "user", scope, parse_owner);
      step.body = UserStep{user ? user->value : ""};
      break;
    }
  }
  return step;
}

}  // namespace

void read_steps(Reader& reader, const toml::table& table, const std::string& scope, Stage& stage) {
  const toml::node* node = table.get("step");
  if (!node) return;
  const toml::array* steps = node->as_array();
  if (!steps || (!steps->empty() && !steps->is_array_of_tables())) {
    reader.wrong_type(*node, "step", scope, "an array of tables, written [[stage.step]]");
    return;
  }
  for (std::size_t i = 0; i < steps->size(); ++i)
    stage.steps.push_back(read_step(reader, *steps->get(i)->as_table(), stage, scope, i + 1));
}

}  // namespace imgbuild::recipe
