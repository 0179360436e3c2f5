// SPDX-License-Identifier: Apache-2.0
// Dispatch from a base spec to the module that produces its image.
#include "base/progress.hpp"
#include "base/registry_base.hpp"
#include "imgbuild/base/base.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {
namespace {

template <class... Visitors>
struct Overloaded : Visitors... {
  using Visitors::operator()...;
};
template <class... Visitors>
Overloaded(Visitors...) -> Overloaded<Visitors...>;

fs::path local_path(const LocalBase& local, const BaseContext& context) {
  if (local.path.is_absolute() || context.recipe_dir.empty()) return local.path;
  return context.recipe_dir / local.path;
}

image::Image load_local(const LocalBase& local, BaseContext& context) {
  fs::path path = local_path(local, context);
  if (!fs::exists(path))
    fail("base image file ", quote(path.string()), " not found: check the path, relative paths start at the recipe directory");

  switch (local.transport) {
    case LocalBase::Transport::oci_layout: {
      // A digest names one manifest exactly, so it wins over a tag.
      std::string reference = local.digest ? *local.digest : local.tag.value_or("");
      return image::load_oci_layout(context.store, path, reference, context.platform);
    }
    case LocalBase::Transport::oci_archive:
      return image::load_oci_archive(context.store, path, local.tag.value_or(""), context.platform);
    case LocalBase::Transport::docker_archive:
      return image::load_docker_archive(context.store, path, local.tag.value_or(""));
  }
  fail("unknown local base transport");
}

}  // namespace

image::Image scratch_image(const image::Platform& platform) {
  image::Image image;
  image.config = image::scratch_config(platform);
  image.name = "scratch";
  return image;
}

std::string describe(const BaseSpec& spec) {
  return std::visit(
      Overloaded{
          [](const Scratch&) { return std::string("scratch"); },
          [](const StageBase& stage) { return "stage " + stage.name; },
          [](const LocalBase& local) {
            std::string text;
            switch (local.transport) {
              case LocalBase::Transport::oci_layout: text = "oci:"; break;
              case LocalBase::Transport::oci_archive: text = "oci-archive:"; break;
              case LocalBase::Transport::docker_archive: text = "docker-archive:"; break;
            }
            text += local.path.string();
            if (local.digest)
              text += "@" + *local.digest;
            else if (local.tag)
              text += ":" + *local.tag;
            return text;
          },
          [](const RegistryBase& registry) { return "docker://" + registry.reference; },
          [](const DebianBase& debian) { return describe(debian); },
      },
      spec);
}

ResolvedBase resolve_base(const BaseSpec& spec, BaseContext& context) {
  return with_context(cat("resolving base ", quote(describe(spec))), [&] {
    ResolvedBase resolved;
    std::visit(Overloaded{
                   [&](const Scratch&) { resolved.image = scratch_image(context.platform); },
                   [&](const StageBase& stage) { resolved.stage = stage.name; },
                   [&](const LocalBase& local) {
                     resolved.image = load_local(local, context);
                     resolved.image.name = describe(spec);
                   },
                   [&](const RegistryBase& registry) {
                     RegistryBaseResult result = pull_registry_base(registry, context);
                     resolved.image = std::move(result.image);
                     resolved.cached = result.cached;
                   },
                   [&](const DebianBase& debian) {
                     DebianBaseResult result = build_debian_base(debian, context);
                     resolved.image = std::move(result.image);
                     resolved.packages = std::move(result.packages);
                     resolved.previous_packages = std::move(result.previous_packages);
                     resolved.cached = result.cached;
                   },
               },
               spec);
    return resolved;
  });
}

}  // namespace imgbuild::base
