// SPDX-License-Identifier: Apache-2.0
// Feeds arbitrary bytes to the layer reader and the flattening unpacker.
// Any outcome but an imgbuild::Error (a crash, a sanitizer report, a file
// outside the scratch root) is a bug.
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"

namespace {

namespace fs = std::filesystem;

struct Scratch {
  fs::path base;
  Scratch() {
    char pattern[] = "/tmp/imgbuild-fuzz-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) std::abort();
    base = pattern;
  }
};

Scratch& scratch() {
  static Scratch instance;
  return instance;
}

// The unpack root is base/root/inner; anything else appearing in base or
// base/root was written outside it.
void check_no_escape(const fs::path& base) {
  for (const auto& item : fs::directory_iterator(base)) {
    auto name = item.path().filename();
    if (name != "root" && name != "blob") std::abort();
  }
  for (const auto& item : fs::directory_iterator(base / "root")) {
    if (item.path().filename() != "inner") std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& base = scratch().base;
  fs::path blob = base / "blob";
  fs::path root = base / "root/inner";
  imgbuild::remove_tree(base / "root");
  fs::create_directories(root);
  {
    imgbuild::UniqueFd fd = imgbuild::open_file(blob, O_WRONLY | O_CREAT | O_TRUNC);
    imgbuild::write_all(fd.get(), std::string_view(reinterpret_cast<const char*>(data), size));
  }

  try {
    imgbuild::layer::for_each_entry(blob, [](const imgbuild::layer::Entry&, imgbuild::layer::ContentReader& content) {
      char buffer[4096];
      while (content.read(buffer, sizeof buffer) > 0) {
      }
    });
  } catch (const imgbuild::Error&) {
  }
  try {
    imgbuild::layer::unpack_flat(blob, root);
  } catch (const imgbuild::Error&) {
  }
  check_no_escape(base);
  if (!fs::is_directory(fs::symlink_status(root))) std::abort();
  return 0;
}
