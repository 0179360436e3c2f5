// SPDX-License-Identifier: Apache-2.0
#include "build/stage.hpp"

#include <chrono>
#include <cstdio>

#include "build/steps.hpp"
#include "imgbuild/base/base.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/manifest.hpp"
#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/registry/lock.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fs", seconds);
  return buffer;
}

base::BaseSpec to_base_spec(const recipe::Base& base, const std::string& text) {
  using Kind = recipe::Base::Kind;
  switch (base.kind) {
    case Kind::scratch: return base::Scratch{};
    case Kind::stage: return base::StageBase{base.stage};
    case Kind::oci_layout: return base::LocalBase{base::LocalBase::Transport::oci_layout, base.path, base.tag, base.digest};
    case Kind::oci_archive: return base::LocalBase{base::LocalBase::Transport::oci_archive, base.path, base.tag, {}};
    case Kind::docker_archive: return base::LocalBase{base::LocalBase::Transport::docker_archive, base.path, {}, {}};
    case Kind::registry: return base::RegistryBase{text.empty() ? base.reference : text};
    case Kind::debian: {
      const recipe::DebianBase& in = base.debian;
      base::DebianBase out;
      out.suite = in.suite;
      out.variant = in.variant;
      out.packages = in.packages;
      out.architecture = in.architecture;
      out.snapshot = in.snapshot;
      if (!in.mirror.empty()) out.mirror = in.mirror;
      out.sources = in.sources;
      return out;
    }
  }
  fail("unknown base kind");
}

// Expands ${ARG} in a registry reference with the recipe's global args, as
// a Dockerfile does for ARG lines before FROM.
std::string expand_base_text(const Session& session, const recipe::Base& base) {
  if (base.kind != recipe::Base::Kind::registry) return base.reference;
  return recipe::expand(base.reference, make_lookup({}, session.build_args));
}

// The key every step of a stage chains from: the base image's config and
// layer digests, so a moved base invalidates the whole stage.
std::string base_key(const image::Image& image) {
  nlohmann::json document = {{"config", image.config}, {"layers", nlohmann::json::array()}};
  for (const auto& layer : image.layers) document["layers"].push_back(layer.diff_id.str());
  return sha256_of(cat(cache_key_version, "\nbase\n", document.dump())).str();
}

recipe::EnvList env_from_config(const nlohmann::json& config) {
  recipe::EnvList env;
  if (!config.contains("config") || !config["config"].contains("Env")) return env;
  for (const auto& entry : config["config"]["Env"]) {
    std::string text = entry.get<std::string>();
    auto equals = text.find('=');
    recipe::set_env(env, text.substr(0, equals), equals == std::string::npos ? "" : text.substr(equals + 1));
  }
  return env;
}

std::string config_string(const nlohmann::json& config, const char* key, std::string fallback) {
  if (!config.contains("config") || !config["config"].contains(key)) return fallback;
  const auto& value = config["config"][key];
  return value.is_string() && !value.get<std::string>().empty() ? value.get<std::string>() : fallback;
}

// Starts a stage from a base stage's finished result.
StageResult start_from_stage(Session& session, const std::string& name) {
  const StageResult& parent = session.result_of(name);
  StageResult state;
  state.image = parent.image;
  state.key = parent.key;
  state.layer_steps = parent.layer_steps;
  state.env = parent.env;
  state.workdir = parent.workdir;
  state.user = parent.user;
  state.bases = parent.bases;
  state.base_name = parent.base_name;
  state.base_digest = parent.base_digest;
  return state;
}

// Resolves a base that is not another stage into the store.
StageResult start_from_base(Session& session, const recipe::Stage& stage, const base::BaseSpec& spec,
                            const std::string& text) {
  base::BaseContext context{session.store, session.platform};
  context.source_date_epoch = session.epoch;
  context.pull = session.options.pull;
  context.locked = session.options.locked;
  context.lock_file = registry::LockFile::path_for(session.recipe.file);
  context.recipe_dir = session.recipe.directory;
  // The base module prefixes its lines with "base <description>: "; the
  // stage name says enough here.
  std::string prefix = cat("base ", text, ": ");
  context.progress = [&session, &stage, prefix](std::string_view line) {
    if (line.starts_with(prefix)) line.remove_prefix(prefix.size());
    session.progress.message(cat("[", stage.name, "] ", line));
  };

  base::ResolvedBase resolved;
  if (std::holds_alternative<base::RegistryBase>(spec)) {
    // The registry client and the lock file are shared by every stage.
    std::lock_guard lock(session.registry_mutex);
    context.registry_client = &session.registry_client();
    resolved = base::resolve_base(spec, context);
  } else {
    resolved = base::resolve_base(spec, context);
  }

  // Pulled layers arrive as blobs; recording each one (which checks its
  // diff_id against the config) lets the unpacker find it by diff_id.
  for (const auto& layer : resolved.image.layers)
    if (!session.store.find_layer(layer.diff_id)) layer::import_layer_blob(session.store, layer.blob.digest, layer.diff_id);

  StageResult state;
  state.image = std::move(resolved.image);
  state.image.config = image::config_from_base(state.image.config, state.image.layers.size());
  image::set_platform(state.image.config, session.platform);
  state.key = base_key(state.image);
  state.env = env_from_config(state.image.config);
  state.workdir = config_string(state.image.config, "WorkingDir", "/");
  state.user = config_string(state.image.config, "User", "");
  for (std::size_t i = 0; i < state.image.layers.size(); ++i) state.layer_steps.push_back(cat("base ", text));

  std::string digest = state.image.manifest_digest ? state.image.manifest_digest->str()
                                                   : image::serialize(state.image, image::Format::oci).manifest.digest.str();
  state.bases.push_back({text, Digest::parse(digest)});
  state.base_name = text;
  state.base_digest = digest;
  return state;
}

StepOutcome apply_step(Session& session, const StepPlace& place, StageResult& state) {
  switch (place.step.kind()) {
    case recipe::StepKind::env: return apply_env_step(session, place, state);
    case recipe::StepKind::user: return apply_user_step(session, place, state);
    case recipe::StepKind::workdir: return apply_workdir_step(session, place, state);
    case recipe::StepKind::run: return apply_run_step(session, place, state);
    case recipe::StepKind::copy: return apply_copy_step(session, place, state);
  }
  fail("unknown step kind");
}

}  // namespace

std::map<std::string, std::string> visible_arg_values(const Session& session, const recipe::Stage& stage,
                                                      std::size_t step_index) {
  std::map<std::string, std::string> values;
  for (const auto& name : recipe::visible_args(stage, step_index)) {
    auto it = session.build_args.find(name);
    values[name] = it == session.build_args.end() ? "" : it->second;
  }
  return values;
}

recipe::Lookup make_lookup(const recipe::EnvList& env, const std::map<std::string, std::string>& args) {
  return [env, args](std::string_view name) -> std::optional<std::string> {
    if (auto value = recipe::find_env(env, name)) return value;
    if (auto it = args.find(std::string(name)); it != args.end()) return it->second;
    return std::nullopt;
  };
}

context::RootfsView view_of(Session& session, const image::Image& image, const std::string& name) {
  std::vector<std::filesystem::path> lowers;
  for (const auto& layer : image.layers) lowers.push_back(layer::ensure_unpacked(session.store, layer.diff_id));
  if (lowers.empty()) {
    // A scratch image has no layer; an empty directory stands for its root.
    std::filesystem::path empty = session.store.root() / "unpacked" / "empty";
    std::filesystem::create_directories(empty);
    lowers.push_back(empty);
  }
  context::RootfsView view(std::move(lowers), name);
  if (session.stat_cache) view.use_stat_cache(session.stat_cache);
  return view;
}

StageResult start_stage(Session& session, const recipe::Stage& stage) {
  auto stage_start = Clock::now();
  std::string text = expand_base_text(session, stage.base);
  base::BaseSpec spec = to_base_spec(stage.base, text);
  std::string description = stage.base.kind == recipe::Base::Kind::stage ? cat("stage ", quote(stage.base.stage))
                                                                         : base::describe(spec);
  session.progress.stage_started(stage.name, description);

  StageResult state = stage.base.kind == recipe::Base::Kind::stage
                          ? start_from_stage(session, stage.base.stage)
                          : start_from_base(session, stage, spec, description);
  if (stage.base.kind != recipe::Base::Kind::stage)
    session.progress.message(cat("[", stage.name, "] base ", description, ": ", state.image.layers.size(),
                                 state.image.layers.size() == 1 ? " layer" : " layers", " in ",
                                 seconds_text(seconds_since(stage_start))));
  image::set_created(state.image.config, session.epoch);
  return state;
}

void build_steps(Session& session, const recipe::Stage& stage, StageResult& state) {
  auto stage_start = Clock::now();
  for (std::size_t i = 0; i < stage.steps.size(); ++i) {
    StepPlace place{stage, stage.steps[i], i, stage.steps.size()};
    std::string text_line = history_text(stage.steps[i]);
    session.progress.step_started(stage.name, i + 1, stage.steps.size(), text_line);
    auto step_start = Clock::now();
    StepOutcome outcome = with_context(cat(recipe::describe(stage, stage.steps[i]), " (",
                                           recipe::to_string(stage.steps[i].position), ")"),
                                       [&] { return apply_step(session, place, state); });
    if (outcome.cache == CacheOutcome::hit) ++state.steps_cached;
    if (outcome.cache == CacheOutcome::miss) ++state.steps_run;
    session.progress.step_finished(stage.name, i + 1, stage.steps.size(), text_line, outcome.cache,
                                   seconds_since(step_start), outcome.detail);
  }

  session.progress.stage_finished(stage.name, seconds_since(stage_start));
}

}  // namespace imgbuild::build
