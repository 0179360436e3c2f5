// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/graph.hpp"

#include <algorithm>

namespace imgbuild::recipe {

std::vector<std::string> stage_dependencies(const Stage& stage) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  if (stage.base.kind == Base::Kind::stage) add(stage.base.stage);
  for (const Step& step : stage.steps) {
    const auto* copy = std::get_if<CopyStep>(&step.body);
    if (copy && copy->from) add(copy->from->value);
  }
  return names;
}

std::vector<std::size_t> build_order(const Recipe& recipe, const Stage& target) {
  // Mark what the target needs, then emit needed stages in recipe order
  // whenever all their dependencies are out; a validated recipe has no
  // cycle, so each pass emits at least one stage.
  std::vector<bool> needed(recipe.stages.size(), false);
  std::vector<std::size_t> pending = {target.index};
  while (!pending.empty()) {
    std::size_t index = pending.back();
    pending.pop_back();
    if (needed[index]) continue;
    needed[index] = true;
    for (const std::string& name : stage_dependencies(recipe.stages[index]))
      if (const Stage* dependency = recipe.find_stage(name)) pending.push_back(dependency->index);
  }

  std::vector<std::size_t> order;
  std::vector<bool> emitted(recipe.stages.size(), false);
  bool progress = true;
  while (progress) {
    progress = false;
    for (const Stage& stage : recipe.stages) {
      if (!needed[stage.index] || emitted[stage.index]) continue;
      auto dependencies = stage_dependencies(stage);
      bool ready = std::all_of(dependencies.begin(), dependencies.end(), [&](const std::string& name) {
        const Stage* dependency = recipe.find_stage(name);
        return !dependency || emitted[dependency->index];
      });
      if (!ready) continue;
      order.push_back(stage.index);
      emitted[stage.index] = true;
      progress = true;
    }
  }
  return order;
}

}  // namespace imgbuild::recipe
