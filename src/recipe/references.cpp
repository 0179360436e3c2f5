// SPDX-License-Identifier: Apache-2.0
// Checks that span the whole recipe: stage names and the references between
// stages (base, copy from, target), cycles, and the secrets and build args
// that stages and steps name.
#include <algorithm>
#include <map>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"
#include "sections.hpp"

namespace imgbuild::recipe {
namespace {

// A reference from one stage to another, with where it is written.
struct Edge {
  std::size_t to = 0;
  Position position;
};

std::vector<std::string> stage_names(const Recipe& recipe) {
  std::vector<std::string> names;
  for (const Stage& stage : recipe.stages)
    if (!stage.name.empty()) names.push_back(stage.name);
  return names;
}

std::string unknown_message(std::string_view what, std::string_view name, std::string_view where,
                            const std::vector<std::string>& candidates) {
  std::string message = cat("unknown ", what, " ", quote(name), " in ", where);
  if (auto suggestion = nearest(name, candidates)) message += cat("; did you mean ", quote(*suggestion), "?");
  return message;
}

void check_duplicate_names(Reader& reader, const Recipe& recipe) {
  std::map<std::string, const Stage*> first;
  for (const Stage& stage : recipe.stages) {
    if (stage.name.empty()) continue;
    auto [found, inserted] = first.emplace(stage.name, &stage);
    if (!inserted)
      reader.error(stage.position, cat("duplicate stage name ", quote(stage.name), "; the first stage ",
                                       quote(stage.name), " is at line ", found->second->position.line));
  }
}

// Decides whether a bare base string names a stage, and checks image
// references. A bare single word close to a stage name is most likely a
// misspelled stage, not an image on Docker Hub.
void resolve_base(Reader& reader, const Recipe& recipe, Stage& stage, const std::vector<std::string>& names) {
  Base& base = stage.base;
  if (base.kind != Base::Kind::registry || base.text.starts_with("docker://")) {
    if (base.kind == Base::Kind::registry && !has_variable(base.reference))
      reader.parse_value({base.reference, base.position}, "base", cat("stage ", quote(stage.name)),
                         parse_image_reference);
    return;
  }
  if (recipe.find_stage(base.text)) {
    base.kind = Base::Kind::stage;
    base.stage = base.text;
    base.reference.clear();
    return;
  }
  if (has_variable(base.text)) return;
  bool single_word = base.text.find_first_of("/:@.") == std::string::npos;
  auto close = nearest(base.text, names);
  if (single_word && close) {
    reader.error(base.position, cat("unknown stage ", quote(base.text), " in 'base' of stage ", quote(stage.name),
                                    "; did you mean ", quote(*close), "? (write \"docker://", base.text,
                                    "\" for an image of that name)"));
    return;
  }
  reader.parse_value({base.text, base.position}, "base", cat("stage ", quote(stage.name)), parse_image_reference);
}

// Collects the stage references of each stage, reporting unknown names.
std::vector<std::vector<Edge>> collect_edges(Reader& reader, Recipe& recipe) {
  std::vector<std::string> names = stage_names(recipe);
  std::vector<std::vector<Edge>> edges(recipe.stages.size());
  auto index_of = [&](std::string_view name) { return recipe.find_stage(name)->index; };

  for (Stage& stage : recipe.stages) {
    resolve_base(reader, recipe, stage, names);
    if (stage.base.kind == Base::Kind::stage)
      edges[stage.index].push_back({index_of(stage.base.stage), stage.base.position});
    for (const Step& step : stage.steps) {
      const auto* copy = std::get_if<CopyStep>(&step.body);
      if (!copy || !copy->from) continue;
      const Located<std::string>& from = *copy->from;
      if (recipe.find_stage(from.value))
        edges[stage.index].push_back({index_of(from.value), from.position});
      else
        reader.error(from.position, unknown_message("stage", from.value, cat("'from' of ", describe(stage, step)), names));
    }
  }
  return edges;
}

// Reports each cycle once, at the reference that starts it, as
// "stage 'a' -> 'b' -> 'a'".
void check_cycles(Reader& reader, const Recipe& recipe, const std::vector<std::vector<Edge>>& edges) {
  enum class Mark { unvisited, on_path, done };
  std::vector<Mark> marks(recipe.stages.size(), Mark::unvisited);
  std::vector<std::size_t> path;
  std::vector<const Edge*> path_edges;

  auto visit = [&](auto& self, std::size_t node) -> void {
    marks[node] = Mark::on_path;
    path.push_back(node);
    for (const Edge& edge : edges[node]) {
      path_edges.push_back(&edge);
      if (marks[edge.to] == Mark::on_path) {
        std::size_t start = std::find(path.begin(), path.end(), edge.to) - path.begin();
        std::string chain = cat("stage ", quote(recipe.stages[path[start]].name));
        for (std::size_t i = start + 1; i < path.size(); ++i) chain += " -> " + quote(recipe.stages[path[i]].name);
        chain += " -> " + quote(recipe.stages[edge.to].name);
        reader.error(path_edges[start]->position, cat("stages form a cycle: ", chain));
      } else if (marks[edge.to] == Mark::unvisited) {
        self(self, edge.to);
      }
      path_edges.pop_back();
    }
    path.pop_back();
    marks[node] = Mark::done;
  };
  for (std::size_t node = 0; node < recipe.stages.size(); ++node)
    if (marks[node] == Mark::unvisited) visit(visit, node);
}

void check_names(Reader& reader, const std::vector<Located<std::string>>& used,
                 const std::vector<std::string>& declared, std::string_view what, std::string_view where,
                 std::string_view hint) {
  for (const auto& name : used) {
    if (std::find(declared.begin(), declared.end(), name.value) != declared.end()) continue;
    std::string message = cat("unknown ", what, " ", quote(name.value), " in ", where);
    if (auto suggestion = nearest(name.value, declared))
      message += cat("; did you mean ", quote(*suggestion), "?");
    else
      message += cat("; ", hint);
    reader.error(name.position, std::move(message));
  }
}

void check_args_and_secrets(Reader& reader, const Recipe& recipe) {
  std::vector<std::string> args, secrets;
  for (const Arg& arg : recipe.args) args.push_back(arg.name);
  for (const SecretDecl& secret : recipe.secrets) secrets.push_back(secret.id);
  const char* arg_hint = "declare it under [args]";

  for (const Stage& stage : recipe.stages) {
    check_names(reader, stage.args, args, "build arg", cat("stage ", quote(stage.name)), arg_hint);
    for (const Step& step : stage.steps) {
      check_names(reader, step.args, args, "build arg", describe(stage, step), arg_hint);
      if (const auto* run = std::get_if<RunStep>(&step.body))
        check_names(reader, run->secrets, secrets, "secret", describe(stage, step), "declare it under [secrets]");
    }
  }
}

}  // namespace

void check_references(Reader& reader, Recipe& recipe) {
  check_duplicate_names(reader, recipe);
  std::vector<std::vector<Edge>> edges = collect_edges(reader, recipe);
  check_cycles(reader, recipe, edges);
  check_args_and_secrets(reader, recipe);

  if (recipe.image.target && !recipe.find_stage(*recipe.image.target)) {
    reader.error(recipe.image.positions.at("target"), unknown_message("stage", *recipe.image.target, "'target' of [image]",
                                                        stage_names(recipe)));
  }
}

}  // namespace imgbuild::recipe
