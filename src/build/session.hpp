// SPDX-License-Identifier: Apache-2.0
// State shared by every stage of one build.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "build/progress.hpp"
#include "imgbuild/build/options.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/secret_store.hpp"
#include "imgbuild/context/stat_cache.hpp"
#include "imgbuild/image/image.hpp"
#include "imgbuild/image/manifest.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/recipe/expand.hpp"
#include "imgbuild/recipe/recipe.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/report/snapshot.hpp"
#include "imgbuild/store/store.hpp"

namespace imgbuild::build {

// The result of building one stage: its image and what the report needs.
struct StageResult {
  image::Image image;
  std::string key;                         // cache key after the last step
  std::vector<std::string> layer_steps;    // per layer: the step that made it
  recipe::EnvList env;                     // environment after the last step
  std::string workdir = "/";
  std::string user;
  std::vector<report::BaseImage> bases;    // bases this stage and its base stages start from
  std::vector<report::AllowedSecret> allowed_secrets;
  std::string base_name;                   // for the manifest annotation
  std::string base_digest;
  std::size_t steps_run = 0;               // cache misses that ran a step
  std::size_t steps_cached = 0;
};

struct Session {
  Session(const BuildOptions& build_options, recipe::Recipe loaded, store::Store opened)
      : options(build_options), recipe(std::move(loaded)), store(std::move(opened)), progress(build_options.progress) {}

  const BuildOptions& options;
  recipe::Recipe recipe;
  store::Store store;
  ProgressView progress;
  std::int64_t epoch = 0;
  image::Platform platform;
  layer::Compression compression = layer::Compression::gzip;
  image::Format format = image::Format::oci;
  std::unique_ptr<context::BuildContext> context;  // opened when a copy step needs it
  std::shared_ptr<context::StatCache> stat_cache;
  std::unique_ptr<context::SecretStore> secrets;
  std::map<std::string, std::string> build_args;   // recipe defaults overridden by --build-arg
  std::vector<std::string> volatile_paths;
  std::string runtime = "auto";
  recipe::Network network = recipe::Network::host;

  std::mutex registry_mutex;                       // the client is not thread-safe
  std::unique_ptr<registry::Client> registry;

  std::mutex results_mutex;
  std::map<std::string, StageResult> results;      // finished stages by name

  std::mutex context_mutex;

  // Returns the registry client, created on first use from the options.
  // Callers hold `registry_mutex`.
  registry::Client& registry_client();
  // Returns the finished result of stage `name`.
  const StageResult& result_of(const std::string& name);
  // Opens the build context on first use.
  const context::BuildContext& build_context();
};

// Returns the platform imgbuild builds for: --platform, the recipe, or the host.
image::Platform resolve_platform(const BuildOptions& options, const recipe::Recipe& recipe);
std::string platform_string(const image::Platform& platform);

}  // namespace imgbuild::build
