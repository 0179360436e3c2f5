// SPDX-License-Identifier: Apache-2.0
// Cross-checks the flattened unpack against umoci, an independent OCI
// implementation, on an image layout written by hand.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/layer_support.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using nlohmann::json;

namespace {

std::string xattr_summary(const fs::path& path) {
  char names[4096];
  ssize_t size = ::llistxattr(path.c_str(), names, sizeof names);
  std::vector<std::string> parts;
  for (ssize_t start = 0; start < size;) {
    std::string name = names + start;
    start += static_cast<ssize_t>(name.size()) + 1;
    char value[512];
    ssize_t length = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    parts.push_back(name + "=" + sha256_of(std::string_view(value, static_cast<std::size_t>(std::max<ssize_t>(length, 0)))).hex.substr(0, 12));
  }
  std::sort(parts.begin(), parts.end());
  return join(parts, ",");
}

// Type, mode, owner, size, content digest, link target and xattrs of every
// entry below `root`.
std::vector<std::string> detailed_tree(const fs::path& root) {
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat info {};
    REQUIRE(::lstat(it->path().c_str(), &info) == 0);
    std::string line = cat(it->path().lexically_relative(root).string(), " type=", info.st_mode & S_IFMT, " mode=",
                           info.st_mode & 07777, " owner=", info.st_uid, ":", info.st_gid);
    if (S_ISREG(info.st_mode))
      line += cat(" size=", info.st_size, " sha256=", sha256_of_file(it->path()).hex.substr(0, 12), " links=", info.st_nlink);
    if (S_ISLNK(info.st_mode)) line += " -> " + fs::read_symlink(it->path()).string();
    if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode)) line += cat(" dev=", major(info.st_rdev), ":", minor(info.st_rdev));
    line += " xattrs=" + xattr_summary(it->path());
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

json descriptor(const std::string& media_type, const Digest& digest, std::uint64_t size) {
  return {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
}

// Writes an OCI image layout at `layout` with `layers` tagged "test".
void write_layout(store::Store& store, const fs::path& layout, const std::vector<layer::LayerResult>& layers) {
  fs::create_directories(layout / "blobs/sha256");
  auto put = [&](const std::string& bytes) {
    Digest digest = sha256_of(bytes);
    write(layout / "blobs/sha256" / digest.hex, bytes);
    return std::pair{digest, bytes.size()};
  };

  json diff_ids = json::array();
  json layer_descriptors = json::array();
  for (const auto& result : layers) {
    diff_ids.push_back(result.diff_id.str());
    layer_descriptors.push_back(descriptor(result.media_type, result.digest, result.size));
    fs::copy_file(store.blob_path(result.digest), layout / "blobs/sha256" / result.digest.hex, fs::copy_options::overwrite_existing);
  }
  json config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  auto [config_digest, config_size] = put(config.dump());
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", descriptor("application/vnd.oci.image.config.v1+json", config_digest, config_size)},
                   {"layers", layer_descriptors}};
  auto [manifest_digest, manifest_size] = put(manifest.dump());
  json manifest_descriptor = descriptor("application/vnd.oci.image.manifest.v1+json", manifest_digest, manifest_size);
  manifest_descriptor["annotations"] = {{"org.opencontainers.image.ref.name", "test"}};
  write(layout / "index.json", json{{"schemaVersion", 2}, {"manifests", {manifest_descriptor}}}.dump());
  write(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

layer::Entry with_owner(layer::Entry entry, std::uint32_t uid, std::uint32_t gid) {
  entry.uid = uid;
  entry.gid = gid;
  return entry;
}

}  // namespace

TEST_CASE("layer: flat unpack matches umoci", "[layer]") {
  if (!is_root() || !find_program("umoci")) {
    WARN("skipped: needs root and umoci");
    return;
  }
  TempDir temp;
  auto store = store::Store::open(temp / "store");

  auto tool = file_entry("usr/bin/tool", "#!/bin/sh\necho v1\n", 04755);
  tool.xattrs["user.origin"] = "layer one";
  auto ping = file_entry("usr/bin/ping", "ping binary", 0755);
  ping.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  layer::Entry fifo;
  fifo.path = "run/queue";
  fifo.type = layer::EntryType::fifo;
  fifo.mode = 0620;
  layer::Entry null_device;
  null_device.path = "dev/null";
  null_device.type = layer::EntryType::char_device;
  null_device.mode = 0666;
  null_device.dev_major = 1;
  null_device.dev_minor = 3;

  std::vector<layer::LayerResult> layers;
  layers.push_back(write_test_layer(
      store, {dir_entry("usr"), dir_entry("usr/bin"), tool, ping, hardlink_entry("usr/bin/tool-alias", "usr/bin/tool"),
              symlink_entry("usr/bin/sh-link", "/bin/sh"), dir_entry("etc"), file_entry("etc/keep", "keep\n"),
              file_entry("etc/gone", "gone\n"), dir_entry("opt"), dir_entry("opt/app"), file_entry("opt/app/old", "old"),
              dir_entry("opt/app/sub"), file_entry("opt/app/sub/deep", "deep"), dir_entry("run"), fifo, dir_entry("dev"),
              null_device, with_owner(dir_entry("home", 0750), 1000, 1000),
              with_owner(file_entry("home/notes", "n", 0600), 1000, 1000), file_entry("replace-me", "file")}));
  layers.push_back(write_test_layer(
      store, {dir_entry("etc", 0700), layer::whiteout("etc/gone"), dir_entry("opt"), dir_entry("opt/app"),
              layer::opaque_marker("opt/app"), file_entry("opt/app/new", "new"), layer::whiteout("usr/bin/tool"),
              dir_entry("usr"), dir_entry("usr/bin"), layer::whiteout("replace-me"), dir_entry("replace-me", 0711),
              file_entry("replace-me/inside", "inside")}));
  layers.push_back(write_test_layer(
      store, {dir_entry("usr"), dir_entry("usr/bin"), file_entry("usr/bin/tool", "#!/bin/sh\necho v2\n", 0755),
              symlink_entry("opt/app", "/usr/bin"), dir_entry("opt")}));
  for (const auto& result : layers) check_blob_with_tools(store.blob_path(result.digest));

  write_layout(store, temp / "layout", layers);
  ProcessResult umoci = run_process({"umoci", "unpack", "--image", (temp / "layout").string() + ":test", (temp / "bundle").string()});
  INFO(umoci.err);
  REQUIRE(umoci.exit_code == 0);

  fs::path ours = temp / "ours";
  fs::create_directories(ours);
  std::vector<Digest> diff_ids;
  for (const auto& result : layers) diff_ids.push_back(result.diff_id);
  layer::unpack_layers_flat(store, diff_ids, ours);

  auto expected = detailed_tree(temp / "bundle/rootfs");
  auto actual = detailed_tree(ours);
  CHECK(actual == expected);
  CHECK(read_file(ours / "usr/bin/tool-alias") == "#!/bin/sh\necho v1\n");
  CHECK(read_file(ours / "usr/bin/tool") == "#!/bin/sh\necho v2\n");
  CHECK(fs::read_symlink(ours / "opt/app") == "/usr/bin");
  CHECK(!fs::exists(ours / "etc/gone"));
  CHECK(read_file(ours / "replace-me/inside") == "inside");
}
