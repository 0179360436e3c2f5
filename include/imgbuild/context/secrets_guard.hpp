// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/context/source_tree.hpp"

namespace imgbuild::context {

// A file that a copy from a build context would put into a layer although it
// probably contains a credential.
struct SecretFinding {
  std::string path;    // context path; for `.git` the directory itself
  std::string reason;  // "environment file", "SSH private key", ...
};

// Checks a context path by name: `.env` files, SSH key names, `.key`/`.p12`
// files, `.git/`, `.aws/credentials`, gcloud credential files, `.azure/`,
// `.docker/config.json`, `.netrc`. `.npmrc` and `.pypirc` are checked by
// content, because most of them hold only registry URLs.
std::optional<SecretFinding> check_secret_name(std::string_view path, const SourceTree& tree);

// Throws an Error listing `findings` and saying how to ignore or allow each,
// with `ignore_file` (".dockerignore") in the advice.
[[noreturn]] void reject_secrets(const std::vector<SecretFinding>& findings, std::string_view tree_name,
                                 std::string_view ignore_file);

}  // namespace imgbuild::context
