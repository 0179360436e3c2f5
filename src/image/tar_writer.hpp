// SPDX-License-Identifier: Apache-2.0
// A deterministic tar writer for image archives (OCI archive, docker-archive).
// Every entry gets mtime 0, uid and gid 0, no user or group names and a fixed
// mode, so the archive bytes depend only on the names and contents given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "imgbuild/util/digest.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::image::detail {

class TarWriter {
 public:
  // Opens `file` for writing (it must not be open elsewhere).
  explicit TarWriter(const std::filesystem::path& file);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  void add_directory(std::string_view name);
  void add_bytes(std::string_view name, std::string_view bytes);
  // Streams a store blob into the archive, hashing it as it is read; throws
  // naming the digest and path when the content does not match.
  void add_blob(std::string_view name, const store::Store& store, const Digest& digest, std::int64_t size);
  // Writes the end-of-archive blocks and closes the file.
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace imgbuild::image::detail
