// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/registry/auth.hpp"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

// Docker Hub has several host names, and a credential saved under any of
// them applies to all.
bool same_registry(std::string_view key_host, std::string_view domain) {
  auto hub = [](std::string_view host) {
    return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
  };
  return key_host == domain || (hub(key_host) && hub(domain));
}

// Splits an auths key into host and namespace. Keys written as URLs
// ("https://index.docker.io/v1/") name a whole host.
std::pair<std::string, std::string> split_key(std::string_view key) {
  auto scheme = key.find("://");
  if (scheme != std::string_view::npos) {
    std::string_view rest = key.substr(scheme + 3);
    return {std::string(rest.substr(0, rest.find('/'))), {}};
  }
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {std::string(key), {}};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::optional<std::string> matching_key(const nlohmann::json& auths, std::string_view domain,
                                        std::string_view repository) {
  std::optional<std::string> best;
  std::size_t best_length = 0;
  for (const auto& [key, entry] : auths.items()) {
    if (!entry.is_object() || !entry.contains("auth") || !entry["auth"].is_string() ||
        entry["auth"].get<std::string>().empty())
      continue;
    auto [host, space] = split_key(key);
    if (!same_registry(host, domain)) continue;
    bool covers = space.empty() || repository == space || repository.starts_with(space + "/");
    if (!covers) continue;
    if (!best || space.size() + 1 > best_length) {
      best = key;
      best_length = space.size() + 1;
    }
  }
  return best;
}

Credentials decode_entry(const fs::path& file, const std::string& key, const std::string& encoded) {
  std::string decoded = with_context(cat("credential file ", quote(file.string()), " entry ", quote(key)),
                                     [&] { return base64_decode(encoded); });
  auto colon = decoded.find(':');
  if (colon == std::string::npos)
    fail("credential file ", quote(file.string()), " entry ", quote(key),
         ": 'auth' does not decode to 'user:password'; log in again to rewrite it");
  return Credentials{decoded.substr(0, colon), decoded.substr(colon + 1), file};
}

}  // namespace

std::vector<fs::path> credential_files(const std::optional<fs::path>& override_file) {
  if (override_file) return {*override_file};
  std::vector<fs::path> files;
  if (auto file = env("REGISTRY_AUTH_FILE")) files.emplace_back(*file);
  if (auto runtime = env("XDG_RUNTIME_DIR")) files.push_back(fs::path(*runtime) / "containers/auth.json");
  auto home = env("HOME");
  if (home) files.push_back(fs::path(*home) / ".config/containers/auth.json");
  if (auto docker = env("DOCKER_CONFIG"))
    files.push_back(fs::path(*docker) / "config.json");
  else if (home)
    files.push_back(fs::path(*home) / ".docker/config.json");
  return files;
}

std::optional<Credentials> find_credentials(std::string_view domain, std::string_view repository,
                                            const std::optional<fs::path>& override_file) {
  for (const auto& file : credential_files(override_file)) {
    std::error_code error;
    if (!fs::is_regular_file(file, error)) continue;

    nlohmann::json document = nlohmann::json::parse(read_file(file), nullptr, false);
    if (document.is_discarded() || !document.is_object())
      fail("credential file ", quote(file.string()), " is not valid JSON: fix or remove it");
    if (!document.contains("auths") || !document["auths"].is_object()) continue;

    // TODO: credential helpers (credHelpers, credsStore) are not run; only
    // inline "auth" entries are read.
    if (auto key = matching_key(document["auths"], domain, repository)) {
      log::debug(cat("using credentials for ", quote(domain), " from ", quote(file.string())));
      return decode_entry(file, *key, document["auths"][*key]["auth"].get<std::string>());
    }
  }
  return std::nullopt;
}

std::vector<Challenge> parse_challenges(std::string_view header) {
  std::vector<Challenge> challenges;
  std::size_t i = 0;
  auto skip = [&](std::string_view set) {
    while (i < header.size() && set.find(header[i]) != std::string_view::npos) ++i;
  };
  auto token = [&] {
    std::size_t start = i;
    while (i < header.size() && header[i] != ' ' && header[i] != ',' && header[i] != '=') ++i;
    return std::string(header.substr(start, i - start));
  };

  while (i < header.size()) {
    skip(" ,\t");
    std::string name = token();
    if (name.empty()) break;
    skip(" \t");
    if (i >= header.size() || header[i] != '=') {
      challenges.push_back(Challenge{lower(name), {}});
      continue;
    }
    ++i;  // '='
    skip(" \t");
    std::string value;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      ++i;  // closing quote
    } else {
      value = token();
    }
    if (!challenges.empty()) challenges.back().params[lower(name)] = value;
  }
  return challenges;
}

std::string base64_encode(std::string_view data) {
  std::string encoded(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                               reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return encoded;
}

std::string base64_decode(std::string_view text) {
  std::string compact;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  if (compact.size() % 4 != 0) fail("invalid base64: the length is not a multiple of 4");

  std::string decoded(3 * compact.size() / 4, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                               reinterpret_cast<const unsigned char*>(compact.data()),
                               static_cast<int>(compact.size()));
  if (length < 0) fail("invalid base64: unexpected characters");
  // EVP_DecodeBlock counts the zero bytes that padding stands for.
  std::size_t padding = compact.ends_with("==") ? 2 : compact.ends_with("=") ? 1 : 0;
  decoded.resize(static_cast<std::size_t>(length) - padding);
  return decoded;
}

}  // namespace imgbuild::registry
