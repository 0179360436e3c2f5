// SPDX-License-Identifier: Apache-2.0
#include "base/rootfs_layer.hpp"

#include "imgbuild/layer/scan.hpp"
#include "imgbuild/layer/writer.hpp"

namespace imgbuild::base {

image::Layer write_rootfs_layer(const std::filesystem::path& root, BaseContext& context) {
  layer::WriteOptions options;
  options.compression = layer::Compression::gzip;
  options.epoch = context.source_date_epoch;
  options.threads = context.threads > 0 ? static_cast<unsigned>(context.threads) : 0;
  layer::LayerResult written = layer::write_layer(layer::scan_tree(root), options, context.store);

  image::Layer result;
  result.blob = {written.media_type, written.digest, static_cast<std::int64_t>(written.size), {}, {}};
  result.diff_id = written.diff_id;
  result.uncompressed_size = written.uncompressed_size;
  return result;
}

}  // namespace imgbuild::base
