// SPDX-License-Identifier: Apache-2.0
// Compressors that turn the tar stream into a layer blob. Internal to the
// layer module.
#pragma once

#include <cstddef>
#include <memory>

#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"

namespace imgbuild::layer {

// Receives the tar stream in order and writes the compressed blob.
class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual void write(const char* data, std::size_t size) = 0;
  // Flushes everything into the blob writer; call once, at the end.
  virtual void finish() = 0;
};

// gzip: the stream is cut into 1 MiB chunks, each compressed by libdeflate
// at level 6 into an independent gzip member on a pool of `threads`
// workers, and the members are written in order. The chunking is fixed, so
// the output is the same for any thread count.
// zstd: libzstd level 3 in multi-threaded mode with at least one worker,
// whose output does not depend on the worker count.
// none: the tar itself.
std::unique_ptr<Compressor> make_compressor(Compression compression, unsigned threads, store::BlobWriter& out);

// Size of the gzip chunks, and of the buffers the other compressors use.
constexpr std::size_t chunk_size = 1 << 20;

}  // namespace imgbuild::layer
