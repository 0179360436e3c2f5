// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::context {

// A build secret as the recipe's `[secrets]` table or `--secret
// id=NAME,src=FILE|env=VAR` names it. Exactly one of `file` and `env` is set.
struct SecretSpec {
  std::string id;
  std::filesystem::path file;
  std::string env;
};

// Build secrets made available as files for run steps to bind-mount. Each
// secret is copied into a private directory (on tmpfs under /dev/shm when
// there is one, else a 0700 temporary directory) when first requested, and
// the directory is removed on destruction. Values never appear in messages,
// logs or hashes: only ids and source names do.
class SecretStore {
 public:
  // Checks that ids are unique and non-empty; values are read lazily.
  explicit SecretStore(std::vector<SecretSpec> specs);
  ~SecretStore();
  SecretStore(SecretStore&&) noexcept;
  SecretStore& operator=(SecretStore&&) = delete;

  bool contains(std::string_view id) const;
  std::vector<std::string> ids() const;

  // Returns the path of a 0400 file containing the secret `id`. Throws naming
  // the id (never the value) when it is unknown or its source is missing.
  std::filesystem::path path(std::string_view id);

  // The private directory holding materialised secrets.
  const std::filesystem::path& directory();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace imgbuild::context
