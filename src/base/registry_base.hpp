// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "imgbuild/base/base.hpp"

namespace imgbuild::base {

struct RegistryBaseResult {
  image::Image image;
  bool cached = false;  // always false: the client contacts the registry for every pull
};

// Pulls a registry base for the context's platform. With a lock file the
// digest comes from it (normal), replaces it (`pull`) or must match it
// (`locked`), and the file is saved when a pin changed.
RegistryBaseResult pull_registry_base(const RegistryBase& base, BaseContext& context);

}  // namespace imgbuild::base
