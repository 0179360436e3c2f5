// SPDX-License-Identifier: Apache-2.0
// Sequential reader of a layer blob: decompresses, parses the tar and
// hashes both the blob and the tar as it goes. Internal to the layer module.
#pragma once

#include <memory>

#include "imgbuild/layer/unpack.hpp"

namespace imgbuild::layer {

class TarReader final : public ContentReader {
 public:
  TarReader(const std::filesystem::path& blob, ReadOptions options);
  ~TarReader() override;

  // Reads the next header into `entry` (path cleaned as for_each_entry
  // documents); false at the end of the archive. Skips unread content.
  bool next(Entry& entry);
  std::size_t read(void* buffer, std::size_t size) override;
  // Reads the rest of the stream and checks the digests; call after next()
  // returned false.
  ReadResult finish();

  const std::string& layer_name() const { return options_.layer_name; }

  struct State;  // public only for the libarchive callbacks in reader.cpp

 private:
  std::unique_ptr<State> state_;
  ReadOptions options_;
};

// Runs `body`. When it throws and `options.blob_digest` does not match the
// blob file, throws that mismatch instead, because a corrupt blob explains
// the failure better than the decompressor's message.
void run_checking_blob(const std::filesystem::path& blob, const ReadOptions& options, const std::function<void()>& body);

// Cleans a tar entry name: drops leading '/', "./", empty and "."
// components and a trailing '/'; keeps "..". "" is the root.
std::string clean_entry_path(std::string_view name);

}  // namespace imgbuild::layer
