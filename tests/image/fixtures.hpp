// SPDX-License-Identifier: Apache-2.0
// Test images for the image module: layers packed with GNU tar and stored
// in a test store, and a runnable busybox image.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "imgbuild/image/image.hpp"
#include "imgbuild/image/manifest.hpp"
#include "imgbuild/store/store.hpp"

namespace imgbuild::test {

namespace fs = std::filesystem;

// Packs the tree `root` with GNU tar (sorted names, mtime 0, owner 0:0),
// compresses it with `compression` (gzip -n, zstd) and stores the blob.
image::Layer store_layer(store::Store& store, const fs::path& root, image::Compression compression,
                         const fs::path& scratch);

// Stores a layer holding one file `path` with `content`.
image::Layer store_file_layer(store::Store& store, const std::string& path, const std::string& content,
                              image::Compression compression, const fs::path& scratch);

// A linux/amd64 image with one layer (the toolkit's busybox rootfs), created
// at epoch 0, with Cmd ["/bin/busybox", "echo", `message`].
image::Image busybox_image(store::Store& store, const fs::path& scratch, const std::string& message,
                           image::Compression compression = image::Compression::gzip);

nlohmann::json read_json(const fs::path& file);

}  // namespace imgbuild::test
