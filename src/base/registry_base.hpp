// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "imgbuild/base/base.hpp"

namespace imgbuild::base {

struct RegistryBaseResult {
  image::Image image;
  bool cached = false;  // the lock file pinned it and every blob was in the store
};

// Pulls a registry base for the context's platform, pinning it in the lock
// file when one is set.
RegistryBaseResult pull_registry_base(const RegistryBase& base, BaseContext& context);

}  // namespace imgbuild::base
