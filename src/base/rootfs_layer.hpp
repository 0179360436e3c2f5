// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>

#include "imgbuild/base/base.hpp"
#include "imgbuild/image/image.hpp"

namespace imgbuild::base {

// Writes the tree below `root` as one deterministic gzip layer into the
// context's store, with mtimes clamped to the context's epoch.
image::Layer write_rootfs_layer(const std::filesystem::path& root, BaseContext& context);

}  // namespace imgbuild::base
