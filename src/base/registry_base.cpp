// SPDX-License-Identifier: Apache-2.0
#include "base/registry_base.hpp"

#include <optional>

#include "base/progress.hpp"
#include "imgbuild/registry/lock.hpp"
#include "imgbuild/registry/reference.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {
namespace {

registry::LockMode lock_mode(const BaseContext& context) {
  if (context.locked) return registry::LockMode::locked;
  if (context.pull) return registry::LockMode::refresh;
  return registry::LockMode::normal;
}

}  // namespace

RegistryBaseResult pull_registry_base(const RegistryBase& base, BaseContext& context) {
  registry::Reference reference = registry::Reference::parse(base.reference);
  std::optional<registry::Client> own_client;
  registry::Client* client = context.registry_client;
  if (!client) client = &own_client.emplace(context.registry);

  registry::Reference pinned = reference;
  if (!context.lock_file.empty()) {
    registry::LockFile lock = registry::LockFile::load(context.lock_file);
    pinned = registry::pin_base(*client, lock, reference, context.platform, lock_mode(context));
    lock.save();
  } else if (context.locked) {
    fail_with(ExitCode::usage, "--locked needs a lock file, but none is set for base ", quote(reference.str()));
  }

  std::string prefix = cat("base ", reference.str(), ": ");
  emit_progress(context, prefix + "pulling " + pinned.manifest_reference());
  auto on_blob = [&](const registry::TransferProgress& progress) {
    if (progress.done)
      emit_progress(context, cat(prefix, "blob ", progress.digest.str(), " ", human_bytes(progress.total), " at ",
                                 human_bytes(static_cast<std::uint64_t>(progress.bytes_per_second)), "/s"));
  };
  RegistryBaseResult result;
  result.image = client->pull_image(pinned, context.platform, context.store, on_blob);
  result.image.name = reference.str();
  return result;
}

}  // namespace imgbuild::base
