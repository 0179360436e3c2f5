// SPDX-License-Identifier: Apache-2.0
// The private half of Client, shared by the pull and push sources.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "imgbuild/registry/client.hpp"
#include "transport.hpp"

namespace imgbuild::registry {

// Measures a transfer rate and limits progress reports to a few per second.
class RateMeter {
 public:
  bool due() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report_ < std::chrono::milliseconds(200)) return false;
    last_report_ = now;
    return true;
  }
  double rate(std::uint64_t bytes) const {
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    return elapsed.count() > 0 ? static_cast<double>(bytes) / elapsed.count() : 0;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_report_{};
};

struct Client::State {
  struct Fetched {
    Digest digest;
    std::string media_type;
    std::string bytes;
    nlohmann::json document;
  };

  explicit State(RegistryOptions options);

  // Returns a call to `reference`'s registry with a token scope of
  // "repository:<path>:<actions>".
  Call call(const Reference& reference, std::string method, std::string target, std::string actions);
  // Fetches a manifest or index by tag or digest and checks its digest.
  Fetched fetch_manifest(const Reference& reference, const std::string& name);
  // Downloads `blob` into `store` unless it is there, verifying it as it streams.
  void fetch_blob(const Reference& reference, const image::Descriptor& blob, store::Store& store,
                  const ProgressCallback& progress);
  bool blob_exists(const Reference& reference, const Digest& digest);
  // Uploads one blob from `store` unless the registry has it.
  void push_blob(const Reference& reference, const image::Descriptor& blob, store::Store& store,
                 const std::optional<Reference>& mount_from, const ProgressCallback& progress);
  void upload_monolithic(const Reference& reference, const std::string& location, int fd,
                                const image::Descriptor& blob, const ProgressCallback& progress);
  void upload_chunked(const Reference& reference, std::string location, int fd,
                             const image::Descriptor& blob, const ProgressCallback& progress);

  Transport transport;
};

}  // namespace imgbuild::registry
