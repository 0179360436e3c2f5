// SPDX-License-Identifier: Apache-2.0
// Builders for layer entries and independent readers of layer blobs
// (Python's tarfile, gzip, zstd), shared by the layer tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/layer/entry.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"

namespace imgbuild::test {

layer::Entry file_entry(const std::string& path, const std::string& content, std::uint32_t mode = 0644);
layer::Entry dir_entry(const std::string& path, std::uint32_t mode = 0755);
layer::Entry symlink_entry(const std::string& path, const std::string& target);
layer::Entry hardlink_entry(const std::string& path, const std::string& target);

// Writes `entries` as a layer with `compression` at epoch 0 into `store`.
layer::LayerResult write_test_layer(store::Store& store, std::vector<layer::Entry> entries,
                                    layer::Compression compression = layer::Compression::gzip);

// One line per member as Python's tarfile reads the blob:
// "<type> <name> [-> <link>] <size> <mode> <uid>:<gid> <mtime>", with
// non-ASCII bytes shown as \xNN. type: f d l h c b p.
std::vector<std::string> python_listing(const std::filesystem::path& blob);

// "name=value" pax records of each member, sorted, as Python reads them.
std::vector<std::string> python_pax_records(const std::filesystem::path& blob);

// Runs `gzip -t` or `zstd -t` (by the blob's magic) and checks it passes;
// plain tars pass `tar -tf`.
void check_blob_with_tools(const std::filesystem::path& blob);

}  // namespace imgbuild::test
