// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/store/store.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::layer {

// mount(2) copies its option string into one page, so "lowerdir=...,
// upperdir=...,workdir=..." must fit in 4096 bytes (the page size on x86-64
// and most arm64 kernels). A stage with many layers exceeds it.
constexpr std::size_t mount_options_limit = 4096;

// Returns the overlay lower directories for `diff_ids` (base first, as in
// an image config), unpacked through `ensure_unpacked`. When their
// `lowerdir=` option would not fit in mount_options_limit minus
// `reserved_bytes` (the rest of the option string), the lowest layers are
// merged into one flattened directory, store.root()/unpacked/chain-<hex>,
// where <hex> is the sha256 of the merged diff_ids joined by '\n'. The
// chain is cached: unpacked/chain-<hex>.json lists its diff_ids for prune.
// The result is base first, like `diff_ids`.
std::vector<std::filesystem::path> lower_dirs_for_mount(store::Store& store, const std::vector<Digest>& diff_ids,
                                                        std::size_t reserved_bytes);

// Formats "lowerdir=TOP:...:BASE" from base-first `lower_dirs`, escaping
// ':' , ',' and '\' in paths with a backslash.
std::string lowerdir_option(const std::vector<std::filesystem::path>& lower_dirs);

}  // namespace imgbuild::layer
