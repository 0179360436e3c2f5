// SPDX-License-Identifier: Apache-2.0
// Helpers for directories that are built in the store and then published.
// Internal to the layer module.
#pragma once

#include <filesystem>

#include "imgbuild/store/store.hpp"

namespace imgbuild::layer {

// Creates an empty directory under the store's unpacked/ to build into.
std::filesystem::path unpack_temp_dir(store::Store& store);

// Renames `temp` to `target`; when another process published `target`
// first, removes `temp` and keeps theirs.
void publish_dir(const std::filesystem::path& temp, const std::filesystem::path& target);

}  // namespace imgbuild::layer
