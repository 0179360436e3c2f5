// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::registry {

// A user name and password (or token) for HTTP basic auth, and the file
// they came from, which errors name so the user knows what to fix. Never log
// `password`.
struct Credentials {
  std::string username;
  std::string password;
  std::filesystem::path source;
};

// Returns the credential files searched, in order. With `override_file` set,
// only that file. Otherwise the order podman and skopeo use:
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.config/containers/auth.json, then the docker config
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json).
std::vector<std::filesystem::path> credential_files(const std::optional<std::filesystem::path>& override_file);

// Finds credentials for `domain` (a Reference domain, "docker.io" or
// "127.0.0.1:5000") and `repository` path in the first file that has an
// entry for them. Entries are `auths.<key>.auth`, base64 of "user:password";
// a key may be the host, a URL of the host, or host/namespace (the longest
// matching namespace wins). Throws Error naming the file when it is not
// valid JSON or an entry does not decode.
std::optional<Credentials> find_credentials(std::string_view domain, std::string_view repository,
                                            const std::optional<std::filesystem::path>& override_file);

// One parsed WWW-Authenticate challenge: `Bearer realm="...",service="..."`.
struct Challenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // lower-case keys
};

// Parses a WWW-Authenticate header value; a header may hold several
// challenges. Malformed parameters are skipped.
std::vector<Challenge> parse_challenges(std::string_view header);

// Base64 over OpenSSL's EVP block coder. Decoding throws Error on invalid input.
std::string base64_encode(std::string_view data);
std::string base64_decode(std::string_view text);

}  // namespace imgbuild::registry
