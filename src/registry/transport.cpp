// SPDX-License-Identifier: Apache-2.0
#include "transport.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {
namespace {

// A Retry-After longer than this is not waited for in full.
constexpr std::chrono::seconds max_retry_after{60};

bool retryable_status(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

std::string joined(const std::vector<std::string>& parts) { return join(parts, " "); }

std::chrono::milliseconds retry_after(const http::Response& response) {
  std::string value = response.header("retry-after");
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return {};
  auto seconds = std::chrono::seconds(std::min<long long>(std::stoll(value), max_retry_after.count()));
  return std::chrono::duration_cast<std::chrono::milliseconds>(seconds);
}

std::string login_hint(const std::string& host) {
  return cat("log in with 'podman login ", host, "' or point the registry auth file option at a file with credentials");
}

}  // namespace

std::string describe(const http::Response& response) {
  std::string text = response.status_line();
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("errors") || !body["errors"].is_array())
    return text;
  for (const auto& error : body["errors"]) {
    if (!error.is_object()) continue;
    std::string code = error.value("code", "");
    std::string message = error.value("message", "");
    text += cat(": ", code, message.empty() ? "" : ": ", message);
  }
  return text;
}

Transport::Transport(RegistryOptions options) : options_(std::move(options)) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

Transport::HostState& Transport::host_state(const std::string& host) { return hosts_[host]; }

std::string Transport::url(const std::string& host, const std::string& target) {
  if (target.starts_with("http://") || target.starts_with("https://")) return target;
  return cat(host_state(host).scheme, "://", host, target);
}

http::TlsSettings Transport::tls_for(const std::string& host) const {
  http::TlsSettings tls;
  auto found = options_.hosts.find(host);
  if (found == options_.hosts.end()) return tls;
  tls.verify = !found->second.insecure;
  tls.ca_file = found->second.ca_file;
  return tls;
}

const std::optional<Credentials>& Transport::credentials(HostState& state, const Call& call) {
  if (!state.credentials_loaded) {
    state.credentials = find_credentials(call.host, call.repository, options_.auth_file);
    state.credentials_loaded = true;
  }
  return state.credentials;
}

http::Response Transport::send(const Call& call) {
  HostState& state = host_state(call.host);
  bool fresh_login = false;
  for (;;) {
    http::Request request;
    request.method = call.method;
    request.url = url(call.host, call.target);
    request.headers = call.headers;
    request.body = call.body;
    request.on_data = call.on_data;
    request.on_sent = call.on_sent;
    request.tls = tls_for(http::url_host(request.url));
    bool to_registry = http::url_host(request.url) == call.host;
    if (to_registry)
      if (auto header = authorization(state, call)) request.headers.push_back(*header);

    http::Response response;
    try {
      response = perform_with_retries(request, call.on_restart);
    } catch (const http::TransportError& error) {
      bool insecure = !tls_for(call.host).verify;
      if (error.tls_handshake() && insecure && state.scheme == "https" && to_registry) {
        log::warn(cat("registry ", quote(call.host), " failed the TLS handshake and is marked insecure: using plain HTTP"));
        state.scheme = "http";
        continue;
      }
      std::string hint = error.tls_handshake()
                             ? cat("set a CA file for ", quote(call.host),
                                   " in the registry options, or mark it insecure if it serves plain HTTP")
                             : cat("check that registry ", quote(call.host), " is running and reachable");
      fail(call.method, " ", http::redact_url(request.url), ": ", error.what(), ": ", hint);
    }

    if (response.status != 401 || !to_registry) return response;
    if (fresh_login) fail_unauthorized(state, call);
    authenticate(state, call, response);
    fresh_login = true;
  }
}

std::optional<std::string> Transport::authorization(HostState& state, const Call& call) {
  if (state.auth_scheme == "basic") {
    const auto& found = credentials(state, call);
    if (!found) return std::nullopt;
    return "Authorization: Basic " + base64_encode(found->username + ":" + found->password);
  }
  if (state.auth_scheme == "bearer") {
    std::string key = joined(call.scopes);
    auto token = state.tokens.find(key);
    if (token == state.tokens.end()) token = state.tokens.emplace(key, fetch_token(state, call)).first;
    if (token->second.empty()) return std::nullopt;
    return "Authorization: Bearer " + token->second;
  }
  return std::nullopt;
}

void Transport::authenticate(HostState& state, const Call& call, const http::Response& response) {
  std::vector<Challenge> challenges;
  for (const auto& header : response.all_headers("www-authenticate"))
    for (auto& challenge : parse_challenges(header)) challenges.push_back(std::move(challenge));

  auto bearer = std::find_if(challenges.begin(), challenges.end(), [](const auto& c) { return c.scheme == "bearer"; });
  auto basic = std::find_if(challenges.begin(), challenges.end(), [](const auto& c) { return c.scheme == "basic"; });
  if (bearer != challenges.end()) {
    if (bearer->params["realm"].empty())
      fail("registry ", quote(call.host), " sent a Bearer challenge without a realm");
    state.auth_scheme = "bearer";
    state.realm = bearer->params["realm"];
    state.service = bearer->params["service"];
    state.tokens[joined(call.scopes)] = fetch_token(state, call);
    return;
  }
  if (basic != challenges.end()) {
    state.auth_scheme = "basic";
    if (!credentials(state, call)) fail_unauthorized(state, call);
    return;
  }
  fail(call.method, " ", http::redact_url(url(call.host, call.target)), ": ", describe(response),
       " without a Bearer or Basic challenge in WWW-Authenticate");
}

std::string Transport::fetch_token(HostState& state, const Call& call) {
  std::string target = state.realm;
  char separator = target.find('?') == std::string::npos ? '?' : '&';
  if (!state.service.empty()) {
    target += cat(separator, "service=", http::escape(state.service));
    separator = '&';
  }
  for (const auto& scope : call.scopes) {
    target += cat(separator, "scope=", http::escape(scope));
    separator = '&';
  }

  http::Request request;
  request.url = target;
  request.tls = tls_for(http::url_host(target));
  const auto& found = credentials(state, call);
  if (found) request.headers.push_back("Authorization: Basic " + base64_encode(found->username + ":" + found->password));

  http::Response response;
  try {
    response = perform_with_retries(request, {});
  } catch (const http::TransportError& error) {
    fail("token request to ", http::redact_url(target), ": ", error.what());
  }
  if (response.status == 401 || response.status == 403) fail_unauthorized(state, call);
  if (response.status != 200)
    fail("token request to ", http::redact_url(target), " failed: ", describe(response));

  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    for (const char* field : {"token", "access_token"})
      if (body.contains(field) && body[field].is_string() && !body[field].get<std::string>().empty())
        return body[field].get<std::string>();
  }
  fail("token request to ", http::redact_url(target), " returned no 'token' or 'access_token'");
}

void Transport::fail_unauthorized(HostState& state, const Call& call) {
  const auto& found = credentials(state, call);
  std::string scope = call.scopes.empty() ? std::string("access") : joined(call.scopes);
  if (found)
    fail("registry ", quote(call.host), " rejected the credentials of user ", quote(found->username), " from ",
         quote(found->source.string()), " for ", quote(scope), ": check the user and password, or ",
         login_hint(call.host));

  std::vector<std::string> searched;
  for (const auto& file : credential_files(options_.auth_file)) searched.push_back(quote(file.string()));
  fail("registry ", quote(call.host), " requires authentication for ", quote(scope),
       " and no credentials for it were found in ", join(searched, ", "), ": ", login_hint(call.host));
}

http::Response Transport::perform_with_retries(http::Request& request, const std::function<void()>& on_restart) {
  auto delay = options_.retry_delay;
  for (int attempt = 1;; ++attempt) {
    if (on_restart) on_restart();
    std::string reason;
    ++stats_.requests;
    try {
      http::Response response = session_.perform(request);
      log::debug(cat(request.method, " ", http::redact_url(request.url), ": ", response.status_line()));
      if (!retryable_status(response.status) || attempt >= options_.max_attempts) return response;
      reason = response.status_line();
      delay = std::max(delay, retry_after(response));
    } catch (const http::TransportError& error) {
      if (!error.retryable()) throw;
      if (attempt >= options_.max_attempts)
        throw http::TransportError(attempt == 1 ? std::string(error.what()) : cat(error.what(), " after ", attempt, " attempts"),
                                   error.curl_code(), false, error.tls_handshake());
      reason = error.what();
    }

    ++stats_.retries;
    log::warn(cat("retrying ", request.method, " ", http::redact_url(request.url), " after ", reason, " (attempt ",
                  attempt + 1, " of ", options_.max_attempts, ", waiting ", delay.count(), " ms)"));
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

}  // namespace imgbuild::registry
