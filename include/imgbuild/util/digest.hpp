// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace imgbuild {

// An OCI content digest. Only sha256 is produced; parsing accepts sha256 and
// rejects everything else with a clear message.
struct Digest {
  std::string hex;  // 64 lower-case hex characters

  std::string str() const { return "sha256:" + hex; }
  bool empty() const { return hex.empty(); }
  auto operator<=>(const Digest&) const = default;

  // Parses "sha256:<64 hex>"; throws Error naming the text otherwise.
  static Digest parse(std::string_view text);
  static bool valid(std::string_view text);
};

// Streaming SHA-256 over OpenSSL EVP (SHA-NI where the CPU has it).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  Digest finish();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

Digest sha256_of(std::string_view data);
Digest sha256_of_file(const std::filesystem::path& path);

}  // namespace imgbuild
