// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <vector>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild {

bool Digest::valid(std::string_view text) {
  if (!text.starts_with("sha256:") || text.size() != 7 + 64) return false;
  for (char c : text.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Digest Digest::parse(std::string_view text) {
  if (!valid(text))
    fail("invalid digest ", quote(text), ": expected 'sha256:' followed by 64 lower-case hex digits");
  return Digest{std::string(text.substr(7))};
}

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (!context_->ctx || EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1)
    fail("OpenSSL: cannot initialise SHA-256");
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(context_->ctx, data, size) != 1) fail("OpenSSL: SHA-256 update failed");
}

Digest Sha256::finish() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, raw, &length) != 1) fail("OpenSSL: SHA-256 final failed");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += digits[raw[i] >> 4];
    hex += digits[raw[i] & 15];
  }
  return Digest{hex};
}

Digest sha256_of(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.finish();
}

Digest sha256_of_file(const std::filesystem::path& path) {
  UniqueFd fd = open_file(path, O_RDONLY);
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) fail_errno(cat("cannot read ", path));
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return hash.finish();
}

}  // namespace imgbuild
