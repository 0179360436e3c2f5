// SPDX-License-Identifier: Apache-2.0
// `imgbuild check RECIPE`: validates a recipe and prints the stages the
// target needs, in build order, with their steps. Builds nothing.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "imgbuild/recipe/graph.hpp"
#include "imgbuild/recipe/load.hpp"
#include "imgbuild/util/strings.hpp"
#include "verbs.hpp"

namespace imgbuild::cli {
namespace {

struct CheckFlags {
  std::string recipe;
  std::string target;
};

void print_config(std::ostream& out, const recipe::StageConfig& config) {
  auto argv = [](const std::vector<std::string>& args) {
    std::vector<std::string> quoted;
    for (const std::string& arg : args) quoted.push_back("\"" + arg + "\"");
    return "[" + join(quoted, ", ") + "]";
  };
  if (config.entrypoint) out << "  entrypoint " << argv(*config.entrypoint) << "\n";
  if (config.cmd) out << "  cmd " << argv(*config.cmd) << "\n";
  if (config.user) out << "  user " << *config.user << "\n";
  if (config.workdir) out << "  workdir " << *config.workdir << "\n";
  if (!config.ports.empty()) out << "  ports " << join(config.ports, ", ") << "\n";
  if (config.stop_signal) out << "  stop signal " << *config.stop_signal << "\n";
  if (config.healthcheck) out << "  healthcheck " << argv(config.healthcheck->test) << "\n";
}

void print_stage(std::ostream& out, const recipe::Stage& stage, bool is_target) {
  out << "stage " << quote(stage.name) << (is_target ? " (target)" : "") << " from "
      << recipe::summarize(stage.base) << "  [line " << stage.position.line << "]\n";
  for (const recipe::Step& step : stage.steps)
    out << "  " << step.number << ". " << recipe::summarize(step) << "  [line " << step.position.line << "]\n";
  if (is_target) print_config(out, stage.config);
}

int run_check(const CheckFlags& flags) {
  recipe::Recipe recipe = recipe::load_recipe(flags.recipe);
  std::optional<std::string> target;
  if (!flags.target.empty()) target = flags.target;
  const recipe::Stage& target_stage = recipe.target_stage(target);
  std::vector<std::size_t> order = recipe::build_order(recipe, target_stage);

  std::vector<std::string> names;
  for (std::size_t index : order) names.push_back(recipe.stages[index].name);
  std::cout << "recipe " << recipe.file.string() << ": image " << recipe.image.name << ", tags "
            << join(recipe.image.tags, ", ") << "\n";
  std::cout << "build order: " << join(names, " -> ") << "\n\n";
  for (std::size_t index : order) print_stage(std::cout, recipe.stages[index], index == target_stage.index);

  std::vector<std::string> unused;
  for (const recipe::Stage& stage : recipe.stages)
    if (std::find(order.begin(), order.end(), stage.index) == order.end()) unused.push_back(stage.name);
  if (!unused.empty()) std::cout << "\nnot needed for " << quote(target_stage.name) << ": " << join(unused, ", ") << "\n";
  return static_cast<int>(ExitCode::success);
}

}  // namespace

Verb add_check_verb(CLI::App& app) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* command = app.add_subcommand("check", "validate a recipe and print its stages in build order, without building");
  command->add_option("RECIPE", flags->recipe, "recipe file (TOML) to check")->required();
  command->add_option("--target", flags->target, "stage to check the build order for (default: [image] target, else the last stage)");
  return Verb{command, [flags] { return run_check(*flags); }};
}

}  // namespace imgbuild::cli
