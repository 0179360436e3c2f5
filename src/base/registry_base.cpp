// SPDX-License-Identifier: Apache-2.0
#include "base/registry_base.hpp"

#include <optional>

#include "base/progress.hpp"
#include "imgbuild/registry/reference.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {

RegistryBaseResult pull_registry_base(const RegistryBase& base, BaseContext& context) {
  registry::Reference reference = registry::Reference::parse(base.reference);
  std::optional<registry::Client> own_client;
  registry::Client* client = context.registry_client;
  if (!client) client = &own_client.emplace(context.registry);

  // TODO: pin and check digests in the lock file once the registry module
  // provides it; until then `locked` and `lock_file` are ignored.
  emit_progress(context, cat("base ", reference.str(), ": pulling"));
  RegistryBaseResult result;
  result.image = client->pull_image(reference, context.platform, context.store);
  result.image.name = reference.str();
  return result;
}

}  // namespace imgbuild::base
