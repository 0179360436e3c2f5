// SPDX-License-Identifier: Apache-2.0
// One HTTP exchange over libcurl. The registry client builds on it, and it
// has no notion of registries, auth or retries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgbuild/util/error.hpp"

namespace imgbuild::registry::http {

struct TlsSettings {
  bool verify = true;
  std::filesystem::path ca_file;  // empty: the system bundle
};

// A request body: bytes in memory, or a byte range of an open file.
struct Body {
  std::string_view bytes;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;

  static Body of(std::string_view data) { return Body{data, -1, 0, data.size()}; }
  static Body of_file(int file, std::uint64_t start, std::uint64_t length) {
    return Body{{}, file, start, length};
  }
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::optional<Body> body;
  TlsSettings tls;
  // Receives the body of a 2xx response as it arrives; without it the body is
  // kept in Response::body. Other statuses always go to Response::body.
  std::function<void(std::string_view)> on_data;
  // Receives the number of body bytes sent so far, as the upload proceeds.
  std::function<void(std::uint64_t)> on_sent;
};

struct Response {
  long status = 0;
  std::string reason;  // "Not Found"; empty for HTTP/2
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string url;  // after redirects

  // Returns the first header `name` (lower-case), or an empty string.
  std::string header(std::string_view name) const;
  std::vector<std::string> all_headers(std::string_view name) const;
  // Returns "404 Not Found", or "404" without a reason.
  std::string status_line() const;
};

// A failure below HTTP: DNS, connect, TLS, a dropped connection.
class TransportError : public Error {
 public:
  TransportError(std::string message, int curl_code, bool retryable, bool tls_handshake)
      : Error(std::move(message)), curl_code_(curl_code), retryable_(retryable), tls_handshake_(tls_handshake) {}
  int curl_code() const { return curl_code_; }
  bool retryable() const { return retryable_; }
  // True when the server did not speak TLS, or the handshake failed.
  bool tls_handshake() const { return tls_handshake_; }

 private:
  int curl_code_;
  bool retryable_;
  bool tls_handshake_;
};

// One libcurl easy handle, reused so connections stay open between requests.
// Not thread-safe.
class Session {
 public:
  Session();
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Performs `request`; throws TransportError when no HTTP status arrived.
  // Follows up to 5 redirects over http or https.
  Response perform(const Request& request);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

// Returns the host[:port] of an http(s) URL, or an empty string.
std::string url_host(std::string_view url);
// Returns the URL with user info and query removed, for logs and errors.
std::string redact_url(std::string_view url);
// Percent-encodes a query parameter value.
std::string escape(std::string_view text);

}  // namespace imgbuild::registry::http
