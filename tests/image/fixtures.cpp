// SPDX-License-Identifier: Apache-2.0
#include "fixtures.hpp"

#include "imgbuild/image/config.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

namespace imgbuild::test {

image::Layer store_layer(store::Store& store, const fs::path& root, image::Compression compression,
                         const fs::path& scratch) {
  fs::create_directories(scratch);
  fs::path tar = scratch / "layer.tar";
  run_checked({"tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-C", root.string(), "-cf",
               tar.string(), "."});
  image::Layer layer;
  layer.diff_id = sha256_of_file(tar);
  layer.uncompressed_size = fs::file_size(tar);

  fs::path blob = tar;
  if (compression == image::Compression::gzip) {
    run_checked({"gzip", "-n", "-6", "-k", "-f", tar.string()});
    blob = scratch / "layer.tar.gz";
  } else if (compression == image::Compression::zstd) {
    run_checked({"zstd", "-q", "-3", "-f", tar.string(), "-o", (scratch / "layer.tar.zst").string()});
    blob = scratch / "layer.tar.zst";
  }
  layer.blob.digest = store.ingest_file(blob);
  layer.blob.size = static_cast<std::int64_t>(fs::file_size(blob));
  layer.blob.media_type = image::layer_media_type(compression, image::Format::oci);
  fs::remove(scratch / "layer.tar");
  fs::remove(blob);
  return layer;
}

image::Layer store_file_layer(store::Store& store, const std::string& path, const std::string& content,
                              image::Compression compression, const fs::path& scratch) {
  fs::path root = scratch / "tree";
  remove_tree(root);
  write(root / path, content);
  image::Layer layer = store_layer(store, root, compression, scratch);
  remove_tree(root);
  return layer;
}

image::Image busybox_image(store::Store& store, const fs::path& scratch, const std::string& message,
                           image::Compression compression) {
  fs::path root = scratch / "busybox-root";
  if (!fs::exists(root)) make_busybox_rootfs(root);
  image::Image result;
  result.config = image::scratch_config(image::Platform{});
  image::set_env(result.config, "PATH", "/bin");
  image::set_cmd(result.config, {"/bin/busybox", "echo", message});
  image::append_layer(result, store_layer(store, root, compression, scratch / "pack"),
                      {"copy: busybox rootfs", "", ""});
  return result;
}

nlohmann::json read_json(const fs::path& file) { return nlohmann::json::parse(read_file(file)); }

}  // namespace imgbuild::test
