// SPDX-License-Identifier: Apache-2.0
#include "build/steps.hpp"

#include <sys/stat.h>

#include "build/stage.hpp"
#include "imgbuild/context/copy_plan.hpp"
#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/context/users.hpp"
#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/layer/mount_stack.hpp"
#include "imgbuild/layer/scan.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {
namespace {

nlohmann::json env_json(const recipe::EnvList& env) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, value] : env) list.push_back(name + "=" + value);
  return list;
}

KeyComponents base_components(const Session& session, const StepPlace& place, const StageResult& state) {
  KeyComponents components;
  components.parent = state.key;
  components.env = env_json(state.env);
  components.args = visible_arg_values(session, place.stage, place.index);
  components.platform = platform_string(session.platform);
  components.compression = std::string(layer::compression_name(session.compression));
  return components;
}

// The store key of the --explain record for one step position of one image.
std::string explain_key(const Session& session, const StepPlace& place) {
  return sha256_of(cat("explain\n", session.recipe.image.name, "\n", place.stage.name, "\n", place.index)).str();
}

std::string explain_miss(Session& session, const StepPlace& place, const KeyComponents& components) {
  auto previous = session.store.find_cache(explain_key(session, place));
  if (!previous) return "no earlier build of this step";
  return explain_difference(previous->components, components.to_json());
}

void remember_components(Session& session, const StepPlace& place, const KeyComponents& components) {
  std::string key = explain_key(session, place);
  nlohmann::json current = components.to_json();
  // A fully cached rebuild finds the record it wrote last time; reading it
  // costs less than rewriting it, which fsyncs.
  if (auto previous = session.store.find_cache(key); previous && previous->components == current) return;
  store::CacheEntry entry;
  entry.components = std::move(current);
  entry.created = ::time(nullptr);
  session.store.put_cache(key, entry);
}

// Looks the step up in the cache. A hit whose layer blob is gone (pruned,
// or written with another compression) counts as a miss.
std::optional<std::optional<image::Layer>> lookup(Session& session, const std::string& key) {
  if (session.options.no_cache) return std::nullopt;
  auto entry = session.store.find_cache(key);
  if (!entry) return std::nullopt;
  if (!entry->diff_id) return std::optional<image::Layer>();
  auto record = session.store.find_layer(*entry->diff_id);
  if (!record) return std::nullopt;
  auto blob = record->blobs.find(std::string(layer::compression_name(session.compression)));
  if (blob == record->blobs.end() || !session.store.has_blob(blob->second.digest)) return std::nullopt;
  image::Layer layer;
  layer.blob.media_type = blob->second.media_type;
  layer.blob.digest = blob->second.digest;
  layer.blob.size = static_cast<std::int64_t>(blob->second.size);
  layer.diff_id = record->diff_id;
  layer.uncompressed_size = record->uncompressed_size;
  return std::optional<image::Layer>(layer);
}

void record_result(Session& session, const std::string& key, const KeyComponents& components,
                   const std::optional<image::Layer>& layer) {
  store::CacheEntry entry;
  entry.components = components.to_json();
  if (layer) entry.diff_id = layer->diff_id;
  entry.created = ::time(nullptr);
  session.store.put_cache(key, entry);
}

image::Layer write_entries(Session& session, std::vector<layer::Entry> entries) {
  layer::WriteOptions options;
  options.compression = session.compression;
  options.epoch = session.epoch;
  layer::LayerResult result = layer::write_layer(std::move(entries), options, session.store);
  image::Layer layer;
  layer.blob.media_type = result.media_type;
  layer.blob.digest = result.digest;
  layer.blob.size = static_cast<std::int64_t>(result.size);
  layer.diff_id = result.diff_id;
  layer.uncompressed_size = result.uncompressed_size;
  return layer;
}

// Adds the step's layer (or an empty history entry) to the stage image.
void finish_step(StageResult& state, const recipe::Step& step, const std::string& stage_name,
                 const std::optional<image::Layer>& layer) {
  image::HistoryEntry history{history_text(step), "", ""};
  if (layer) {
    image::append_layer(state.image, *layer, history);
    state.layer_steps.push_back(cat(stage_name, ": ", history.created_by));
  } else {
    image::append_empty_history(state.image, history);
  }
}

// Runs the cached part shared by every step that may produce a layer:
// look the key up, else call `produce`, then record and append.
template <typename Produce>
StepOutcome cached_step(Session& session, const StepPlace& place, StageResult& state,
                        const KeyComponents& components, Produce&& produce) {
  std::string key = compute_key(components);
  StepOutcome outcome;
  std::optional<image::Layer> layer;
  if (auto hit = lookup(session, key)) {
    layer = *hit;
    outcome.cache = CacheOutcome::hit;
  } else {
    if (session.options.explain) outcome.detail = explain_miss(session, place, components);
    layer = produce();
    record_result(session, key, components, layer);
    outcome.cache = CacheOutcome::miss;
  }
  remember_components(session, place, components);
  state.key = key;
  finish_step(state, place.step, place.stage.name, layer);
  return outcome;
}

// Config-only steps change no files; they still move the key chain so the
// steps after them see the new config.
void chain_config_step(Session& session, const StepPlace& place, StageResult& state, nlohmann::json definition) {
  KeyComponents components = base_components(session, place, state);
  components.definition = std::move(definition);
  state.key = compute_key(components);
  finish_step(state, place.step, place.stage.name, std::nullopt);
}

std::string absolute_in(const std::string& workdir, const std::string& path) {
  if (path.empty()) return workdir;
  if (path.front() == '/') return path;
  return workdir.back() == '/' ? workdir + path : workdir + "/" + path;
}

std::string describe_user(const StageResult& state) { return state.user.empty() ? "root" : state.user; }

}  // namespace

std::string history_text(const recipe::Step& step) {
  switch (step.kind()) {
    case recipe::StepKind::run: {
      const auto& run = std::get<recipe::RunStep>(step.body);
      return cat("RUN ", run.shell_form ? run.argv.back() : nlohmann::json(run.argv).dump());
    }
    case recipe::StepKind::copy: {
      const auto& copy = std::get<recipe::CopyStep>(step.body);
      std::string text = "COPY ";
      if (copy.from) text += cat("--from=", copy.from->value, " ");
      if (copy.owner) text += cat("--chown=", *copy.owner, " ");
      if (copy.mode) {
        char mode[16];
        std::snprintf(mode, sizeof mode, "%04o", *copy.mode);
        text += cat("--chmod=", mode, " ");
      }
      for (const auto& source : copy.sources) text += source.value + " ";
      return text + copy.destination.value;
    }
    case recipe::StepKind::env: {
      std::string text = "ENV";
      for (const auto& var : std::get<recipe::EnvStep>(step.body).env) text += cat(" ", var.name, "=", var.value);
      return text;
    }
    case recipe::StepKind::workdir: return "WORKDIR " + std::get<recipe::WorkdirStep>(step.body).path;
    case recipe::StepKind::user: return "USER " + std::get<recipe::UserStep>(step.body).user;
  }
  return "";
}

StepOutcome apply_env_step(Session& session, const StepPlace& place, StageResult& state) {
  const auto& step = std::get<recipe::EnvStep>(place.step.body);
  auto args = visible_arg_values(session, place.stage, place.index);
  recipe::apply_env_step(state.env, step.env, make_lookup({}, args));
  for (const auto& var : step.env) image::set_env(state.image.config, var.name, *recipe::find_env(state.env, var.name));
  chain_config_step(session, place, state, {{"kind", "env"}, {"env", env_json(state.env)}});
  return {};
}

StepOutcome apply_user_step(Session& session, const StepPlace& place, StageResult& state) {
  const auto& step = std::get<recipe::UserStep>(place.step.body);
  auto args = visible_arg_values(session, place.stage, place.index);
  state.user = recipe::expand(step.user, make_lookup(state.env, args));
  image::set_user(state.image.config, state.user);
  chain_config_step(session, place, state, {{"kind", "user"}, {"user", state.user}});
  return {};
}

// WORKDIR creates missing directories owned by the current user, resolved
// in the stage's own /etc/passwd; an existing directory is left as it is.
StepOutcome apply_workdir_step(Session& session, const StepPlace& place, StageResult& state) {
  const auto& step = std::get<recipe::WorkdirStep>(place.step.body);
  auto args = visible_arg_values(session, place.stage, place.index);
  std::string path = absolute_in(state.workdir, recipe::expand(step.path, make_lookup(state.env, args)));
  state.workdir = path;
  image::set_working_dir(state.image.config, path);

  context::RootfsView view = view_of(session, state.image, place.stage.name);
  context::UserIds ids = context::resolve_user(view, describe_user(state));
  std::vector<layer::Entry> entries;
  std::string prefix;
  for (const auto& part : split(context::clean_path(path), '/')) {
    if (part.empty()) continue;
    prefix += prefix.empty() ? part : "/" + part;
    auto info = view.lstat(prefix);
    if (info && info->type == layer::EntryType::directory) continue;
    if (info) fail("workdir ", quote(path), ": ", quote("/" + prefix), " exists and is not a directory");
    layer::Entry entry;
    entry.path = prefix;
    entry.type = layer::EntryType::directory;
    entry.mode = 0755;
    entry.uid = ids.uid;
    entry.gid = ids.gid;
    entry.mtime = session.epoch;
    entries.push_back(entry);
  }

  KeyComponents components = base_components(session, place, state);
  // The created directories carry the epoch as mtime.
  components.definition = {{"kind", "workdir"}, {"path", path}, {"uid", ids.uid}, {"gid", ids.gid},
                           {"creates", entries.size()}, {"epoch", session.epoch}};
  return cached_step(session, place, state, components, [&]() -> std::optional<image::Layer> {
    if (entries.empty()) return std::nullopt;
    // Parents that exist are written too, so the layer is valid on its own.
    std::vector<layer::Entry> all = entries;
    return write_entries(session, std::move(all));
  });
}

namespace {

std::vector<std::string> run_env(const Session& session, const recipe::RunStep& run, const StageResult& state,
                                 const std::map<std::string, std::string>& args) {
  recipe::EnvList env = state.env;
  // Build args reach the step as environment variables unless the image
  // env already sets the same name, as in a Dockerfile RUN.
  for (const auto& [name, value] : args)
    if (!recipe::find_env(env, name)) recipe::set_env(env, name, value);
  recipe::apply_env_step(env, run.env, make_lookup({}, args));
  recipe::set_env(env, "SOURCE_DATE_EPOCH", std::to_string(session.epoch));
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

nlohmann::json run_definition(const recipe::RunStep& run, const StageResult& state, recipe::Network network,
                              const std::vector<std::string>& env) {
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& cache : run.cache) caches.push_back({cache.target, cache.id});
  nlohmann::json secrets = nlohmann::json::array();
  for (const auto& secret : run.secrets) secrets.push_back(secret.value);
  return {{"kind", "run"},       {"argv", run.argv},         {"network", network == recipe::Network::none ? "none" : "host"},
          {"user", state.user},  {"workdir", state.workdir}, {"secrets", secrets},
          {"cache", caches},     {"env", env}};
}

void check_step_result(const exec::StepResult& result) {
  if (!result.runtime_error.empty()) fail("the runtime failed to start the step: ", result.runtime_error);
  if (result.cancelled) fail_with(ExitCode::interrupted, "the step was interrupted");
  if (result.exit_code == 0) return;
  std::string output;
  for (const auto& line : result.last_lines) output += "\n  " + line;
  fail("the step failed with exit code ", result.exit_code,
       output.empty() ? "" : "; its last output lines:", output);
}

}  // namespace

StepOutcome apply_run_step(Session& session, const StepPlace& place, StageResult& state) {
  const auto& run = std::get<recipe::RunStep>(place.step.body);
  auto args = visible_arg_values(session, place.stage, place.index);
  std::vector<std::string> env = run_env(session, run, state, args);
  recipe::Network network = run.network.value_or(session.network);

  KeyComponents components = base_components(session, place, state);
  components.definition = run_definition(run, state, network, env);

  return cached_step(session, place, state, components, [&]() -> std::optional<image::Layer> {
    std::vector<Digest> diff_ids;
    for (const auto& layer : state.image.layers) diff_ids.push_back(layer.diff_id);
    TempDir scratch("step-", session.store.tmp_dir());

    exec::RunRequest request;
    request.label = cat(place.stage.name, "/", place.index + 1);
    request.lower_dirs = layer::lower_dirs_for_mount(session.store, diff_ids, 512 + 2 * scratch.path().string().size());
    request.scratch_dir = scratch.path();
    request.argv = run.argv;
    request.env = env;
    request.workdir = state.workdir;
    request.user = state.user;
    request.network = network == recipe::Network::none ? exec::Network::none : exec::Network::host;
    request.no_new_privileges = session.recipe.build.no_new_privileges;
    request.runtime = session.runtime;
    request.store_dir = session.store.root();
    for (const auto& secret : run.secrets) {
      if (!session.secrets || !session.secrets->contains(secret.value))
        fail_with(ExitCode::usage, "secret ", quote(secret.value), " has no value: pass --secret id=", secret.value,
                  ",src=FILE or --secret id=", secret.value, ",env=VAR, or give it a file or env in [secrets]");
      request.secrets.push_back({secret.value, session.secrets->path(secret.value), "", 0, 0, 0400});
    }
    for (const auto& cache : run.cache)
      request.caches.push_back({session.store.cache_mount_dir(cache.id), cache.target, false, 0, 0, 0755});
    std::string stage = place.stage.name;
    std::size_t number = place.index + 1;
    request.on_output = [&session, stage, number](std::string_view line, Stream) {
      // run_step prefixes "[label] "; the progress view adds its own prefix.
      auto close = line.find("] ");
      session.progress.step_output(stage, number, close == std::string_view::npos ? line : line.substr(close + 2));
    };
    request.cancelled = [] { return cleanup::interrupted(); };

    exec::StepResult result = exec::run_step(request);
    check_step_result(result);

    layer::ScanOptions scan;
    scan.exclude = session.volatile_paths;
    std::vector<layer::Entry> changes = layer::changes_from_overlay_upper(result.upper_dir, scan);
    if (changes.empty()) return std::nullopt;
    return write_entries(session, std::move(changes));
  });
}

StepOutcome apply_copy_step(Session& session, const StepPlace& place, StageResult& state) {
  const auto& copy = std::get<recipe::CopyStep>(place.step.body);
  auto args = visible_arg_values(session, place.stage, place.index);
  auto lookup_fn = make_lookup(state.env, args);

  context::CopyRequest request;
  for (const auto& source : copy.sources) request.sources.push_back(recipe::expand(source.value, lookup_fn));
  request.destination = recipe::expand(copy.destination.value, lookup_fn);
  request.workdir = state.workdir;
  request.mode = copy.mode;
  request.epoch = session.epoch;
  request.allow = session.recipe.context.allow;

  context::RootfsView view = view_of(session, state.image, place.stage.name);
  if (copy.owner) {
    context::UserIds ids = context::resolve_user(view, recipe::expand(*copy.owner, lookup_fn));
    request.owner = context::Owner{ids.uid, ids.gid};
  }
  context::ImageQuery is_directory = [&view](std::string_view path) {
    auto info = view.lstat(path);
    if (info && info->type == layer::EntryType::symlink) {
      auto resolved = view.resolve(path);
      info = resolved ? view.entry(*resolved) : std::nullopt;
    }
    return info && info->type == layer::EntryType::directory;
  };

  std::optional<context::RootfsView> stage_view;
  const context::SourceTree* tree = nullptr;
  if (copy.from) {
    const StageResult& from = session.result_of(copy.from->value);
    stage_view.emplace(view_of(session, from.image, copy.from->value));
    tree = &*stage_view;
  } else {
    tree = &session.build_context();
  }

  context::CopyPlan plan = context::plan_copy(request, *tree, is_directory);
  for (const auto& path : plan.allowed_secrets) {
    session.progress.message(cat("[", place.stage.name, "] secrets guard: copying ", quote(path),
                                 " because [context] allow names it"));
    state.allowed_secrets.push_back({absolute_in(request.destination, path), "context.allow"});
  }

  KeyComponents components = base_components(session, place, state);
  components.definition = {{"kind", "copy"},
                           {"sources", request.sources},
                           {"destination", request.destination},
                           {"workdir", state.workdir},
                           {"from", copy.from ? copy.from->value : ""},
                           {"owner", request.owner ? cat(request.owner->uid, ":", request.owner->gid) : ""},
                           {"mode", copy.mode ? static_cast<int>(*copy.mode) : -1},
                           // The writer clamps mtimes to the epoch, so the layer changes with it
                           // even when the copied files do not.
                           {"epoch", session.epoch}};
  components.inputs = plan.input_hash.str();
  // The env does not change what a copy writes.
  components.env = nlohmann::json::array();

  return cached_step(session, place, state, components, [&]() -> std::optional<image::Layer> {
    if (plan.entries.empty()) return std::nullopt;
    return write_entries(session, std::move(plan.entries));
  });
}

}  // namespace imgbuild::build
