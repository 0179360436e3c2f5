// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/secrets_guard.hpp"

#include <algorithm>
#include <array>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

// `.npmrc` and `.pypirc` are read up to this size for the token check; real
// ones are a few hundred bytes.
constexpr std::size_t config_scan_bytes = 65536;

bool is_env_file(std::string_view name) {
  if (name == ".env") return true;
  if (!name.starts_with(".env.")) return false;
  // Templates that list the variable names without values are meant to be shared.
  for (std::string_view suffix : {".example", ".sample", ".template", ".dist"})
    if (name.ends_with(suffix)) return false;
  return true;
}

bool is_ssh_key_name(std::string_view name) {
  static constexpr std::array<std::string_view, 6> names = {
      "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"};
  for (std::string_view key : names)
    if (name == key) return true;
  return false;
}

std::optional<std::string> reason_for_name(std::string_view name, std::string_view parent) {
  if (is_env_file(name)) return "environment file";
  if (is_ssh_key_name(name)) return "SSH private key";
  if (name.ends_with(".key")) return "TLS private key";
  if (name.ends_with(".p12") || name.ends_with(".pfx")) return "PKCS #12 key store";
  if (parent == ".aws" && name == "credentials") return "AWS credentials";
  if (name == "application_default_credentials.json") return "Google Cloud credentials";
  if (parent == "gcloud" && (name == "credentials.db" || name == "access_tokens.db")) return "Google Cloud credentials";
  if (parent == ".docker" && name == "config.json") return "Docker registry credentials";
  if (name == ".netrc") return "netrc credentials";
  return std::nullopt;
}

std::optional<std::string> reason_for_content(std::string_view name, std::string_view content) {
  if (name == ".npmrc") {
    for (std::string_view key : {"_authToken", "_auth", "_password"})
      if (content.find(key) != std::string_view::npos) return "npm registry token";
  }
  if (name == ".pypirc") {
    for (std::string_view key : {"password", "pypi-"})
      if (content.find(key) != std::string_view::npos) return "PyPI credentials";
  }
  return std::nullopt;
}

}  // namespace

std::optional<SecretFinding> check_secret_name(std::string_view path, const SourceTree& tree) {
  if (path.empty()) return std::nullopt;

  // Whole directories first, so `.git/config` reports `.git` once. Views
  // into `path` keep this free of allocations, because it runs for every
  // copied file.
  std::string_view parent;
  std::string_view name;
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part == ".git") return SecretFinding{std::string(path.substr(0, end)), "git repository data"};
    if (part == ".azure") return SecretFinding{std::string(path.substr(0, end)), "Azure CLI credentials"};
    parent = name;
    name = part;
    start = end + 1;
  }

  if (std::optional<std::string> reason = reason_for_name(name, parent))
    return SecretFinding{std::string(path), *reason};

  if (name == ".npmrc" || name == ".pypirc") {
    std::optional<FileInfo> info = tree.entry(path);
    if (info && info->type == layer::EntryType::regular) {
      if (auto reason = reason_for_content(name, tree.read(path, config_scan_bytes)))
        return SecretFinding{std::string(path), *reason};
    }
  }
  return std::nullopt;
}

void reject_secrets(const std::vector<SecretFinding>& findings, std::string_view tree_name,
                    std::string_view ignore_file) {
  std::string listing;
  std::vector<std::string> ignore_lines;
  std::vector<std::string> allow_items;
  for (const SecretFinding& finding : findings) {
    listing += cat("\n  ", quote(finding.path), " (", finding.reason, ")");
    ignore_lines.push_back("/" + finding.path);
    allow_items.push_back(cat("\"", finding.path, "\""));
  }
  fail("copy from ", tree_name, " rejected: likely credentials would go into the layer:", listing,
       "\nto leave them out, add these lines to ", ignore_file, ": ", join(ignore_lines, " "),
       "\nto copy them on purpose, list them in the recipe: [context] allow = [", join(allow_items, ", "), "]");
}

}  // namespace imgbuild::context
