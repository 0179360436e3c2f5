// SPDX-License-Identifier: Apache-2.0
// Readers of the top-level tables: [image], [args], [context], [secrets],
// [build], [report] and [policy].
#include <regex>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

bool is_arg_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(name.begin(), name.end(), pattern);
}

void read_image_name(Reader& reader, const Located<std::string>& name, Recipe& recipe) {
  recipe.image.name = name.value;
  if (has_variable(name.value)) return;
  auto reference = reader.parse_value(name, "name", "[image]", parse_image_reference);
  if (reference && (reference->tag || reference->digest))
    reader.error(name.position, cat("'name' in [image] must be a reference without tag or digest; put tags in 'tags'"));
}

}  // namespace

void read_image(Reader& reader, const toml::table& root, Recipe& recipe) {
  const toml::table* image = reader.get_table(root, "image", "the recipe");
  if (!image) {
    if (!root.contains("image")) reader.error(reader.at(root), "missing required table [image] with the image 'name'");
    return;
  }
  static const std::vector<std::string> keys = {"name", "tags", "target"};
  reader.check_keys(*image, keys, "[image]");
  recipe.image.position = reader.at(*image);

  if (auto name = reader.get_string(*image, "name", "[image]"))
    read_image_name(reader, *name, recipe);
  else if (!image->contains("name"))
    reader.missing(*image, "name", "[image]", "set it to a reference without tag, such as \"localhost/app\"");

  if (auto tags = reader.get_strings(*image, "tags", "[image]", false)) {
    recipe.image.tags.clear();
    for (const auto& tag : *tags) {
      if (!has_variable(tag.value)) reader.parse_value(tag, "tags", "[image]", [](const std::string& t) {
        check_tag(t);
        return true;
      });
      recipe.image.tags.push_back(tag.value);
    }
  }
  if (auto target = reader.get_string(*image, "target", "[image]")) {
    recipe.image.target = target->value;
    recipe.image.positions["target"] = target->position;
  }
  if (auto name = image->find("name"); name != image->end()) recipe.image.positions["name"] = reader.at(name->second);
  if (auto tags = image->find("tags"); tags != image->end()) recipe.image.positions["tags"] = reader.at(tags->second);
}

void read_args(Reader& reader, const toml::table& root, Recipe& recipe) {
  for (EnvVar& var : reader.get_string_table(root, "args", "the recipe")) {
    if (!is_arg_name(var.name))
      reader.error(var.position, cat("invalid build arg name ", quote(var.name),
                                     " in [args]: use letters, digits and '_', not starting with a digit"));
    recipe.args.push_back(Arg{var.name, var.value, var.position});
  }
}

void read_context(Reader& reader, const toml::table& root, Recipe& recipe) {
  ContextSection& context = recipe.context;
  context.dir = reader.resolve(".");
  const toml::table* table = reader.get_table(root, "context", "the recipe");
  if (!table) return;
  static const std::vector<std::string> keys = {"dir", "git", "ref", "ignore_file", "allow"};
  reader.check_keys(*table, keys, "[context]");
  context.position = reader.at(*table);

  if (auto git = reader.get_string(*table, "git", "[context]")) {
    bool url = git->value.find("://") != std::string::npos;
    context.git = url ? git->value : reader.resolve(git->value).string();
  }
  if (auto ref = reader.get_string(*table, "ref", "[context]")) {
    context.ref = ref->value;
    if (!context.git) reader.error(ref->position, "'ref' in [context] needs 'git'; a directory context has no refs");
  }
  if (auto dir = reader.get_string(*table, "dir", "[context]")) {
    if (!context.git) {
      context.dir = reader.resolve(dir->value);
    } else {
      std::filesystem::path inside = std::filesystem::path(dir->value).lexically_normal();
      if (inside.is_absolute() || (!inside.empty() && *inside.begin() == ".."))
        reader.error(dir->position, "'dir' in [context] must be a subdirectory inside the git repository");
      context.dir = inside;
    }
  } else if (context.git) {
    context.dir = ".";
  }
  if (auto ignore = reader.get_string(*table, "ignore_file", "[context]")) context.ignore_file = ignore->value;
  if (auto allow = reader.get_strings(*table, "allow", "[context]", false)) context.allow = values_of(*allow);
}

void read_secrets(Reader& reader, const toml::table& root, Recipe& recipe) {
  const toml::table* secrets = reader.get_table(root, "secrets", "the recipe");
  if (!secrets) return;
  static const std::regex id_pattern("[A-Za-z0-9_.-]+");
  static const std::vector<std::string> keys = {"file", "env"};

  for (auto&& [id, node] : *secrets) {
    std::string scope = cat("secret ", quote(id.str()));
    SecretDecl secret{std::string(id.str()), {}, {}, reader.at(id.source())};
    if (!std::regex_match(secret.id, id_pattern))
      reader.error(secret.position, cat("invalid secret id ", quote(secret.id), ": use letters, digits, '.', '_' and '-'"));
    if (!node.is_table()) {
      reader.wrong_type(node, secret.id, "[secrets]", "a table such as { file = \"path\" } or { env = \"VAR\" }");
      continue;
    }
    const toml::table& table = *node.as_table();
    reader.check_keys(table, keys, scope);
    if (auto file = reader.get_string(table, "file", scope)) secret.file = reader.resolve(file->value);
    if (auto env = reader.get_string(table, "env", scope)) secret.env = env->value;
    if (secret.file && secret.env)
      reader.error(reader.at(table), cat(scope, " sets both 'file' and 'env'; keep one"));
    recipe.secrets.push_back(std::move(secret));
  }
  std::stable_sort(recipe.secrets.begin(), recipe.secrets.end(), [](const SecretDecl& a, const SecretDecl& b) {
    return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
  });
}

void read_report(Reader& reader, const toml::table& root, Recipe& recipe) {
  const toml::table* table = reader.get_table(root, "report", "the recipe");
  if (!table) return;
  static const std::vector<std::string> keys = {"file", "sbom", "sbom_dir", "vulns"};
  reader.check_keys(*table, keys, "[report]");
  ReportSection& report = recipe.report;
  report.position = reader.at(*table);

  if (auto file = reader.get_string(*table, "file", "[report]")) report.file = reader.resolve(file->value);
  if (auto dir = reader.get_string(*table, "sbom_dir", "[report]")) report.sbom_dir = reader.resolve(dir->value);
  if (auto vulns = reader.get_string(*table, "vulns", "[report]")) report.vulns = reader.resolve(vulns->value);
  if (auto formats = reader.get_strings(*table, "sbom", "[report]", true)) {
    for (const auto& format : *formats) {
      if (format.value == "spdx") {
        report.sbom.push_back(SbomFormat::spdx);
      } else if (format.value == "cyclonedx") {
        report.sbom.push_back(SbomFormat::cyclonedx);
      } else {
        reader.error(format.position, cat("'sbom' in [report]: unknown SBOM format ", quote(format.value),
                                          "; use spdx or cyclonedx"));
      }
    }
  }
}

}  // namespace imgbuild::recipe
