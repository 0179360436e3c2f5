// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstdio>

#include "imgbuild/recipe/recipe.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {

const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::run: return "run";
    case StepKind::copy: return "copy";
    case StepKind::env: return "env";
    case StepKind::workdir: return "workdir";
    case StepKind::user: return "user";
  }
  return "run";
}

const Stage* Recipe::find_stage(std::string_view name) const {
  for (const Stage& stage : stages)
    if (stage.name == name) return &stage;
  return nullptr;
}

const Stage& Recipe::target_stage(const std::optional<std::string>& target) const {
  std::optional<std::string> name = target ? target : image.target;
  if (!name) {
    if (stages.empty()) fail_with(ExitCode::usage, "recipe ", quote(file.string()), " has no stage");
    return stages.back();
  }
  if (const Stage* stage = find_stage(*name)) return *stage;

  std::vector<std::string> names;
  for (const Stage& stage : stages) names.push_back(stage.name);
  std::string message = cat("unknown target stage ", quote(*name), " in ", quote(file.string()));
  if (auto close = nearest(*name, names)) message += cat("; did you mean ", quote(*close), "?");
  else message += cat("; the stages are ", join(names, ", "));
  fail_with(ExitCode::usage, message);
}

std::string describe(const Stage& stage, const Step& step) {
  return cat("step ", step.number, " of stage ", quote(stage.name));
}

std::vector<std::string> visible_args(const Stage& stage, std::size_t step_index) {
  std::vector<std::string> names;
  auto add = [&](const std::vector<Located<std::string>>& args) {
    for (const auto& arg : args)
      if (std::find(names.begin(), names.end(), arg.value) == names.end()) names.push_back(arg.value);
  };
  add(stage.args);
  for (std::size_t i = 0; i <= step_index && i < stage.steps.size(); ++i) add(stage.steps[i].args);
  return names;
}

}  // namespace imgbuild::recipe

namespace imgbuild::recipe {
namespace {

std::string format_mode(std::uint32_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", mode);
  return buffer;
}

std::string summarize_env(const std::vector<EnvVar>& env) {
  std::vector<std::string> pairs;
  for (const EnvVar& var : env) pairs.push_back(var.name + "=" + var.value);
  return join(pairs, " ");
}

std::string summarize_run(const RunStep& run) {
  std::string text = "run ";
  if (run.shell_form && !run.argv.empty()) {
    // A multi-line script shows its first line, so the summary stays one line.
    const std::string& script = run.argv.back();
    std::size_t newline = script.find('\n');
    text += script.substr(0, newline);
    if (newline != std::string::npos && !trim(std::string_view(script).substr(newline)).empty()) text += " ...";
  } else {
    std::vector<std::string> quoted;
    for (const std::string& arg : run.argv) quoted.push_back("\"" + arg + "\"");
    text += "[" + join(quoted, ", ") + "]";
  }
  if (run.network) text += run.network == Network::none ? " (network none)" : " (network host)";
  if (!run.env.empty()) text += " (env " + summarize_env(run.env) + ")";
  std::vector<std::string> secrets;
  for (const auto& secret : run.secrets) secrets.push_back(secret.value);
  if (!secrets.empty()) text += " (secrets " + join(secrets, ", ") + ")";
  std::vector<std::string> caches;
  for (const CacheMount& mount : run.cache) caches.push_back(mount.target);
  if (!caches.empty()) text += " (cache " + join(caches, ", ") + ")";
  return text;
}

std::string summarize_copy(const CopyStep& copy) {
  std::vector<std::string> sources;
  for (const auto& source : copy.sources) sources.push_back(source.value);
  std::string text = "copy " + join(sources, " ") + " -> " + copy.destination.value;
  if (copy.from) text += " from " + quote(copy.from->value);
  if (copy.owner) text += " owner " + *copy.owner;
  if (copy.mode) text += " mode " + format_mode(*copy.mode);
  return text;
}

}  // namespace

std::string summarize(const Step& step) {
  switch (step.kind()) {
    case StepKind::run: return summarize_run(std::get<RunStep>(step.body));
    case StepKind::copy: return summarize_copy(std::get<CopyStep>(step.body));
    case StepKind::env: return "env " + summarize_env(std::get<EnvStep>(step.body).env);
    case StepKind::workdir: return "workdir " + std::get<WorkdirStep>(step.body).path;
    case StepKind::user: return "user " + std::get<UserStep>(step.body).user;
  }
  return {};
}

std::string summarize(const Base& base) {
  switch (base.kind) {
    case Base::Kind::scratch: return "scratch";
    case Base::Kind::stage: return "stage " + quote(base.stage);
    case Base::Kind::registry: return base.reference;
    case Base::Kind::oci_layout:
    case Base::Kind::oci_archive:
    case Base::Kind::docker_archive: return base.text;
    case Base::Kind::debian: {
      const DebianBase& debian = base.debian;
      std::string text = "debian " + debian.suite + " (" + debian.variant + ")";
      if (debian.snapshot) text += " snapshot " + *debian.snapshot;
      if (!debian.packages.empty()) text += " with " + join(debian.packages, ", ");
      return text;
    }
  }
  return {};
}

}  // namespace imgbuild::recipe
