// SPDX-License-Identifier: Apache-2.0
// A Debian bookworm minbase image for slow tests, built with mmdebstrap once
// and kept in a store under the build tree, so later tests and later ctest
// runs reuse it without the network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/base/debian.hpp"
#include "imgbuild/image/image.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::test {

// The SOURCE_DATE_EPOCH of the shared base: 2024-01-01T00:00:00Z.
inline constexpr std::int64_t shared_base_epoch = 1704067200;

// The store that caches shared bases: ${CMAKE_BINARY_DIR}/test-store.
std::filesystem::path shared_base_store_dir();

// Returns a bookworm minbase image with `packages` installed whose layer is
// in `store`. The first call per process resolves it in the shared store
// (building it there at most once, across processes too) and copies the
// layer into `store` when that is another store.
const image::Image& shared_bookworm_base(store::Store& store, const std::vector<std::string>& packages = {});

// Returns the installed packages of the shared base with `packages`.
const std::vector<base::Package>& shared_bookworm_packages(const std::vector<std::string>& packages = {});

}  // namespace imgbuild::test
