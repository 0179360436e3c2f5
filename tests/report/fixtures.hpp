// SPDX-License-Identifier: Apache-2.0
// Builds small layer blobs, images and packages for the report tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/report/catalog.hpp"

namespace imgbuild::test {

// One tar member: 'f' regular file, 'd' directory, 'l' symlink, 'h' hardlink.
struct TarMember {
  std::string path;
  std::string content;  // file content, or the link target for 'l' and 'h'
  char type = 'f';
};

// Writes `members` as a gzip-compressed tar at `blob`.
void write_layer(const std::filesystem::path& blob, const std::vector<TarMember>& members);

// Writes a tar+gzip holding one file of `size` zero bytes (fast gzip level).
void write_zero_file_layer(const std::filesystem::path& blob, const std::string& path, std::uint64_t size);

// An image over `blobs` whose history labels layer i with `steps[i]`. Layer
// descriptors carry the blob's digest and size; uncompressed sizes are left
// 0 so the catalogue measures them.
image::Image image_of(const std::string& name, const std::vector<std::filesystem::path>& blobs,
                      const std::vector<std::string>& steps);

// A Debian package whose source package and version equal its own.
report::Package deb_package(const std::string& name, const std::string& version,
                            const std::string& architecture = "amd64", int layer = 0);
report::Package python_package(const std::string& name, const std::string& version);

}  // namespace imgbuild::test
