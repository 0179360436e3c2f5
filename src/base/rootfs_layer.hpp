// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>

#include "imgbuild/base/base.hpp"
#include "imgbuild/image/image.hpp"

namespace imgbuild::base {

// Writes the whole tree at `root` as one gzip layer into the context's store:
// entries sorted by path, mtimes clamped to the context's epoch, numeric
// owners only. Returns the layer with its diff_id.
image::Layer write_rootfs_layer(const std::filesystem::path& root, BaseContext& context);

}  // namespace imgbuild::base
