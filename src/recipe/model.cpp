// SPDX-License-Identifier: Apache-2.0
#include <algorithm>

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
