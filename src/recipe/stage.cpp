// SPDX-License-Identifier: Apache-2.0
// Readers of [[stage]] tables: name, base, shell, config and policy. Steps
// are read in step.cpp.
#include <regex>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

const std::vector<std::string>& debian_architectures() {
  static const std::vector<std::string> names = {"amd64",   "arm64", "armel",    "armhf",  "i386",
                                                 "mips64el", "ppc64el", "riscv64", "s390x"};
  return names;
}

// Splits "DIR[:TAG|@DIGEST]" of an oci: base.
void read_oci_layout(Reader& reader, std::string_view rest, Base& base) {
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    base.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
  } else if (std::size_t colon = rest.rfind(':');
             colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    base.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  base.path = reader.resolve(rest);
}

void read_base_string(Reader& reader, const Located<std::string>& text, Base& base) {
  base.text = text.value;
  base.position = text.position;
  std::string_view value = text.value;
  if (value == "scratch") {
    base.kind = Base::Kind::scratch;
  } else if (value.starts_with("oci:")) {
    base.kind = Base::Kind::oci_layout;
    read_oci_layout(reader, value.substr(4), base);
  } else if (value.starts_with("oci-archive:")) {
    base.kind = Base::Kind::oci_archive;
    base.path = reader.resolve(value.substr(12));
  } else if (value.starts_with("docker-archive:")) {
    base.kind = Base::Kind::docker_archive;
    base.path = reader.resolve(value.substr(15));
  } else {
    // A bare name may also be a stage; check_references decides once every
    // stage name is known.
    base.kind = Base::Kind::registry;
    base.reference = value.starts_with("docker://") ? std::string(value.substr(9)) : std::string(value);
  }
}

void read_debian(Reader& reader, const toml::table& table, const std::string& scope, DebianBase& debian) {
  static const std::vector<std::string> keys = {"suite",    "variant", "packages", "architecture",
                                                "snapshot", "mirror",  "sources"};
  static const std::vector<std::string> variants = {"extract", "custom",   "essential", "apt",      "required",
                                                    "minbase", "buildd",   "important", "debootstrap", "standard"};
  reader.check_keys(table, keys, scope);
  debian.position = reader.at(table);

  if (auto suite = reader.get_string(table, "suite", scope))
    debian.suite = suite->value;
  else if (!table.contains("suite"))
    reader.missing(table, "suite", scope, "set it to a Debian release such as \"bookworm\"");
  if (auto variant = reader.get_string(table, "variant", scope)) {
    debian.variant = variant->value;
    if (std::find(variants.begin(), variants.end(), variant->value) == variants.end())
      reader.error(variant->position, cat("'variant' in ", scope, ": unknown mmdebstrap variant ",
                                          quote(variant->value), "; use ", join(variants, ", ")));
  }
  if (auto packages = reader.get_strings(table, "packages", scope, false)) debian.packages = values_of(*packages);
  if (auto architecture = reader.get_string(table, "architecture", scope)) {
    debian.architecture = architecture->value;
    const auto& known = debian_architectures();
    if (std::find(known.begin(), known.end(), architecture->value) == known.end()) {
      std::string message = cat("'architecture' in ", scope, ": unknown Debian architecture ", quote(architecture->value));
      if (auto close = nearest(architecture->value, known)) message += cat("; did you mean ", quote(*close), "?");
      reader.error(architecture->position, message);
    }
  }
  if (auto snapshot = reader.get_string(table, "snapshot", scope)) {
    static const std::regex pattern("[0-9]{8}T[0-9]{6}Z");
    debian.snapshot = snapshot->value;
    if (!std::regex_match(snapshot->value, pattern))
      reader.error(snapshot->position, cat("'snapshot' in ", scope, ": ", quote(snapshot->value),
                                           " is not a snapshot.debian.org timestamp such as \"20241201T000000Z\""));
  }
  if (auto mirror = reader.get_string(table, "mirror", scope))
    debian.mirror = mirror->value;
  else if (debian.snapshot)
    debian.mirror = "http://snapshot.debian.org/archive/debian/" + *debian.snapshot + "/";
  else
    debian.mirror = "http://deb.debian.org/debian";
  if (auto sources = reader.get_strings(table, "sources", scope, false)) debian.sources = values_of(*sources);
}

void read_base(Reader& reader, const toml::table& table, const std::string& scope, Base& base) {
  const toml::node* node = table.get("base");
  if (!node) {
    reader.missing(table, "base", scope, "use \"scratch\" for an empty root filesystem");
    return;
  }
  if (node->is_string()) {
    read_base_string(reader, {node->as_string()->get(), reader.at(*node)}, base);
    return;
  }
  if (!node->is_table()) {
    reader.wrong_type(*node, "base", scope, "a string or a table with 'debian'");
    return;
  }
  static const std::vector<std::string> keys = {"debian"};
  std::string base_scope = "the base of " + scope;
  reader.check_keys(*node->as_table(), keys, base_scope);
  base.kind = Base::Kind::debian;
  base.position = reader.at(*node);
  if (const toml::table* debian = reader.get_table(*node->as_table(), "debian", base_scope))
    read_debian(reader, *debian, "the debian base of " + scope, base.debian);
  else if (!node->as_table()->contains("debian"))
    reader.missing(*node->as_table(), "debian", base_scope);
}

// Reads a stage and its steps; `number` is 1-based, for messages when the
// name is missing.
Stage read_stage(Reader& reader, const toml::table& table, std::size_t number) {
  static const std::vector<std::string> keys = {"name", "base", "args", "shell", "step", "config", "policy"};
  static const std::regex name_pattern("[A-Za-z0-9][A-Za-z0-9_.-]*");
  Stage stage;
  stage.index = number - 1;
  stage.position = reader.at(table);

  if (auto name = reader.get_string(table, "name", cat("stage ", number))) {
    stage.name = name->value;
    stage.position = name->position;
    if (!std::regex_match(stage.name, name_pattern))
      reader.error(name->position, cat("invalid stage name ", quote(stage.name),
                                       ": use letters, digits, '_', '.' and '-', starting with a letter or digit"));
  } else if (!table.contains("name")) {
    reader.missing(table, "name", cat("stage ", number));
  }
  std::string scope = stage.name.empty() ? cat("stage ", number) : cat("stage ", quote(stage.name));
  reader.check_keys(table, keys, scope);

  read_base(reader, table, scope, stage.base);
  if (auto args = reader.get_strings(table, "args", scope, false)) stage.args = *args;
  if (auto shell = reader.get_strings(table, "shell", scope, false)) {
    if (shell->empty())
      reader.error(reader.key_at(table, "shell"), cat("'shell' in ", scope, " must name a program, such as [\"/bin/sh\", \"-c\"]"));
    else
      stage.shell = values_of(*shell);
  }
  read_steps(reader, table, scope, stage);
  read_config(reader, table, scope, stage);
  stage.policy = read_policy(reader, table, scope, "the policy of " + scope);
  return stage;
}

}  // namespace

void read_stages(Reader& reader, const toml::table& root, Recipe& recipe) {
  const toml::node* node = root.get("stage");
  if (!node) {
    reader.error(reader.at(root), "the recipe has no stage; add a [[stage]] table with a name and a base");
    return;
  }
  const toml::array* stages = node->as_array();
  if (stages && stages->empty()) {
    reader.error(reader.at(*node), "the recipe has no stage; add a [[stage]] table with a name and a base");
    return;
  }
  if (!stages || !stages->is_array_of_tables()) {
    reader.wrong_type(*node, "stage", "the recipe", "an array of tables, written [[stage]]");
    return;
  }
  for (std::size_t i = 0; i < stages->size(); ++i)
    recipe.stages.push_back(read_stage(reader, *stages->get(i)->as_table(), i + 1));
}

}  // namespace imgbuild::recipe
