// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/build/build.hpp"

#include <cstdlib>
#include <ctime>
#include <thread>

#include "build/finish.hpp"
#include "build/scheduler.hpp"
#include "build/session.hpp"
#include "build/stage.hpp"
#include "imgbuild/recipe/graph.hpp"
#include "imgbuild/recipe/load.hpp"
#include "imgbuild/recipe/values.hpp"
#include "imgbuild/store/epoch.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {
namespace {

std::map<std::string, std::string> resolve_build_args(const BuildOptions& options, const recipe::Recipe& recipe) {
  std::map<std::string, std::string> values;
  for (const auto& arg : recipe.args) values[arg.name] = arg.default_value;
  for (const auto& [name, value] : options.build_args) {
    if (!values.count(name))
      log::warn(cat("build arg ", quote(name), " is not declared in [args] of ", recipe.file.string(),
                    "; no step sees it"));
    values[name] = value;
  }
  return values;
}

std::unique_ptr<context::SecretStore> open_secrets(const BuildOptions& options, const recipe::Recipe& recipe) {
  std::map<std::string, context::SecretSpec> specs;
  for (const auto& declared : recipe.secrets) {
    context::SecretSpec spec{declared.id, declared.file.value_or(""), declared.env.value_or("")};
    if (spec.file.empty() && spec.env.empty()) continue;  // must come from --secret
    specs[declared.id] = spec;
  }
  for (const auto& given : options.secrets) specs[given.id] = {given.id, given.file, given.env};
  std::vector<context::SecretSpec> list;
  for (auto& [id, spec] : specs) list.push_back(spec);
  return std::make_unique<context::SecretStore>(std::move(list));
}

// The epoch clamps every timestamp: SOURCE_DATE_EPOCH, else the recipe's
// setting, else the commit time of a git context, else 0.
std::int64_t resolve_epoch(Session& session) {
  // An empty SOURCE_DATE_EPOCH counts as unset, as in store::build_epoch.
  const char* variable = std::getenv("SOURCE_DATE_EPOCH");
  bool from_environment = variable != nullptr && *variable != '\0';
  if (!from_environment && session.recipe.build.source_date_epoch)
    return *session.recipe.build.source_date_epoch;
  std::optional<std::int64_t> commit_time;
  if (session.recipe.context.git) commit_time = session.build_context().commit_time();
  return store::build_epoch(commit_time);
}

image::Format resolve_format(Session& session, const recipe::Stage& target) {
  std::optional<recipe::ImageFormat> chosen;
  if (session.options.format) chosen = session.options.format == "docker" ? recipe::ImageFormat::docker : recipe::ImageFormat::oci;
  else if (session.recipe.build.format) chosen = session.recipe.build.format;
  bool healthcheck = target.config.healthcheck.has_value();
  if (!chosen) {
    if (!healthcheck) return image::Format::oci;
    log::info(cat("stage ", quote(target.name), " declares a healthcheck, which only the Docker image format "
                  "carries: using it for docker-archive and docker:// outputs (set [build] format or --format "
                  "to choose)"));
    return image::Format::docker;
  }
  return *chosen == recipe::ImageFormat::docker ? image::Format::docker : image::Format::oci;
}

layer::Compression resolve_compression(const Session& session) {
  if (session.options.compression) return layer::parse_compression(*session.options.compression);
  return session.recipe.build.compression == recipe::Compression::zstd ? layer::Compression::zstd
                                                                        : layer::Compression::gzip;
}

void check_format_compression(const Session& session) {
  if (session.format == image::Format::docker && session.compression == layer::Compression::zstd)
    fail_with(ExitCode::usage, "zstd layer compression (", session.options.compression ? "--compression zstd" : "[build] compression",
              ") cannot be written in the Docker image format (",
              session.options.format ? "--format docker" : "chosen for the healthcheck or by [build] format",
              "), which has no zstd layer type: use gzip or the OCI format");
}

// The report reads these files after the last step, so a mistyped path
// fails here, before any step runs. Their content is checked when read.
void check_report_inputs(const Session& session) {
  auto check = [](std::string_view source, const std::filesystem::path& path, std::string_view hint) {
    std::error_code error;
    if (!std::filesystem::exists(path, error))
      fail_with(ExitCode::usage, source, ": not found: ", quote(path.string()), "; ", hint);
  };
  if (session.options.baseline) check("--baseline", *session.options.baseline, "pass a report written with --report");
  const char* tracker_hint = "pass the JSON export of the Debian security tracker";
  if (session.options.vulns) check("--vulns", *session.options.vulns, tracker_hint);
  else if (session.recipe.report.vulns) check("[report] vulns", *session.recipe.report.vulns, tracker_hint);
}

void configure(Session& session, const recipe::Stage& target) {
  check_report_inputs(session);
  session.platform = resolve_platform(session.options, session.recipe);
  session.compression = resolve_compression(session);
  session.format = resolve_format(session, target);
  check_format_compression(session);
  session.build_args = resolve_build_args(session.options, session.recipe);
  session.secrets = open_secrets(session.options, session.recipe);
  session.volatile_paths = session.recipe.build.volatile_paths;
  session.runtime = session.options.runtime.value_or(session.recipe.build.runtime.value_or("auto"));
  session.network = session.options.network ? recipe::parse_network(*session.options.network) : session.recipe.build.network;
  session.stat_cache = std::make_shared<context::StatCache>(session.store.root() / "statcache");
  session.epoch = resolve_epoch(session);
}

int job_count(const Session& session) {
  int jobs = session.options.jobs ? session.options.jobs : session.recipe.build.jobs;
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return jobs;
}

// Schedules two nodes per stage: resolving its base, which can start at
// once unless the base is another stage, and running its steps, which waits
// for its base and for the stages its copy steps read from. Base images of
// independent stages are thus pulled or built while earlier stages run.
void build_stages(Session& session, const recipe::Stage& target) {
  std::vector<std::size_t> order = recipe::build_order(session.recipe, target);
  std::size_t count = order.size();
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < count; ++i) position[session.recipe.stages[order[i]].name] = i;

  std::vector<std::vector<std::size_t>> dependencies(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    const recipe::Stage& stage = session.recipe.stages[order[i]];
    if (stage.base.kind == recipe::Base::Kind::stage) dependencies[i].push_back(count + position.at(stage.base.stage));
    dependencies[count + i].push_back(i);
    for (const auto& name : recipe::stage_dependencies(stage))
      dependencies[count + i].push_back(count + position.at(name));
  }

  std::mutex started_mutex;
  std::map<std::size_t, StageResult> started;
  run_graph(2 * count, dependencies, job_count(session) + 1, [&](std::size_t node) {
    const recipe::Stage& stage = session.recipe.stages[order[node % count]];
    if (node < count) {
      StageResult state = start_stage(session, stage);
      std::lock_guard lock(started_mutex);
      started.emplace(node, std::move(state));
      return;
    }
    StageResult state;
    {
      std::lock_guard lock(started_mutex);
      state = std::move(started.at(node - count));
    }
    build_steps(session, stage, state);
    apply_stage_config(session, stage, state);
    std::lock_guard lock(session.results_mutex);
    session.results.emplace(stage.name, std::move(state));
  });
}

}  // namespace

ExitCode run(const BuildOptions& options) {
  std::int64_t started = ::time(nullptr);
  log::set_verbose(options.verbose);
  recipe::Recipe recipe = recipe::load_recipe(options.recipe);
  std::filesystem::path store_dir = options.store ? *options.store : default_store_dir();
  Session session(options, std::move(recipe), store::Store::open(store_dir));
  const recipe::Stage& target = session.recipe.target_stage(options.target);
  configure(session, target);

  build_stages(session, target);
  StageResult& result = session.results.at(target.name);
  ExitCode code = finish_build(session, target, result, started);
  session.stat_cache->save();
  return code;
}

}  // namespace imgbuild::build
