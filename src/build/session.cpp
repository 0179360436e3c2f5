// SPDX-License-Identifier: Apache-2.0
#include "build/session.hpp"

#include <sys/utsname.h>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {

const StageResult& Session::result_of(const std::string& name) {
  std::lock_guard lock(results_mutex);
  auto it = results.find(name);
  if (it == results.end()) fail("stage ", quote(name), " has not been built");
  return it->second;
}

registry::Client& Session::registry_client() {
  if (registry) return *registry;
  registry::RegistryOptions settings;
  for (const auto& host : options.insecure_registries) settings.hosts[host].insecure = true;
  for (const auto& [host, file] : options.registry_ca_files) settings.hosts[host].ca_file = file;
  registry = std::make_unique<registry::Client>(settings);
  return *registry;
}

const context::BuildContext& Session::build_context() {
  std::lock_guard lock(context_mutex);
  if (context) return *context;
  context::ContextSource source;
  const auto& section = recipe.context;
  if (section.git) {
    source.location = *section.git;
    source.git_ref = section.ref.value_or("HEAD");
    source.git_subdirectory = section.dir.string();
  } else {
    source.location = section.dir.string();
  }
  source.ignore_file = section.ignore_file;
  context = context::open_build_context(source, stat_cache);
  return *context;
}

image::Platform resolve_platform(const BuildOptions& options, const recipe::Recipe& recipe) {
  std::optional<std::string> text = options.platform ? options.platform : recipe.build.platform;
  image::Platform platform;
  if (text) {
    auto parts = recipe::parse_platform(*text);
    platform.os = parts.at(0);
    platform.architecture = parts.at(1);
    if (parts.size() > 2) platform.variant = parts[2];
    return platform;
  }
  utsname name{};
  ::uname(&name);
  std::string machine = name.machine;
  if (machine == "x86_64") platform.architecture = "amd64";
  else if (machine == "aarch64") platform.architecture = "arm64", platform.variant = "v8";
  else if (machine == "i686" || machine == "i386") platform.architecture = "386";
  else if (machine == "ppc64le") platform.architecture = "ppc64le";
  else if (machine == "s390x") platform.architecture = "s390x";
  else if (machine == "riscv64") platform.architecture = "riscv64";
  else fail("unsupported host architecture ", quote(machine), ": pass --platform");
  return platform;
}

std::string platform_string(const image::Platform& platform) {
  std::string text = platform.os + "/" + platform.architecture;
  if (!platform.variant.empty()) text += "/" + platform.variant;
  return text;
}

}  // namespace imgbuild::build
