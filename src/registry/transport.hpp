// SPDX-License-Identifier: Apache-2.0
// Requests to one or more registries with the parts every call needs: the
// scheme per host, credentials, bearer tokens, retries with backoff.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http.hpp"
#include "imgbuild/registry/auth.hpp"
#include "imgbuild/registry/client.hpp"

namespace imgbuild::registry {

// One request to a registry. `target` is a path below the host ("/v2/...")
// or an absolute URL the registry returned (an upload Location).
struct Call {
  std::string method = "GET";
  std::string host;                 // Reference::registry_host()
  std::string repository;           // the path the credentials are looked up for
  std::string target;
  std::vector<std::string> headers;
  std::optional<http::Body> body;
  std::vector<std::string> scopes;  // token scopes: "repository:<path>:pull,push"
  std::function<void(std::string_view)> on_data;
  std::function<void(std::uint64_t)> on_sent;
  // Runs before every attempt, so a streaming sink can start over.
  std::function<void()> on_restart;
};

class Transport {
 public:
  explicit Transport(RegistryOptions options);

  // Sends `call`, authenticating on 401 and retrying transient failures.
  // Returns any HTTP response except a 401 that survives a fresh login;
  // throws Error for transport failures and rejected credentials.
  http::Response send(const Call& call);

  // Returns the absolute URL of `target` on `host`.
  std::string url(const std::string& host, const std::string& target);

  const RegistryOptions& options() const { return options_; }
  ClientStats& stats() { return stats_; }

 private:
  struct HostState {
    std::string scheme = "https";
    std::string auth_scheme;  // "bearer" or "basic" once a challenge arrived
    std::string realm;
    std::string service;
    std::map<std::string, std::string> tokens;  // by joined scope list
    bool credentials_loaded = false;
    std::optional<Credentials> credentials;
  };

  HostState& host_state(const std::string& host);
  const std::optional<Credentials>& credentials(HostState& state, const Call& call);
  http::TlsSettings tls_for(const std::string& host) const;
  std::optional<std::string> authorization(HostState& state, const Call& call);
  void authenticate(HostState& state, const Call& call, const http::Response& response);
  std::string fetch_token(HostState& state, const Call& call);
  http::Response perform_with_retries(http::Request& request, const std::function<void()>& on_restart);
  [[noreturn]] void fail_unauthorized(HostState& state, const Call& call);

  RegistryOptions options_;
  http::Session session_;
  std::map<std::string, HostState> hosts_;
  ClientStats stats_;
};

// Returns "404 Not Found: MANIFEST_UNKNOWN: manifest unknown" from the status
// and the distribution-spec error body, for messages.
std::string describe(const http::Response& response);

}  // namespace imgbuild::registry
