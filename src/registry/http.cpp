// SPDX-License-Identifier: Apache-2.0
#include "http.hpp"

#include <algorithm>
#include <cctype>
#include <curl/curl.h>
#include <unistd.h>

#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry::http {
namespace {

// Error bodies are only quoted in messages, so a cap keeps a hostile server
// from filling memory.
constexpr std::size_t max_kept_body = 4 << 20;
constexpr long max_redirects = 5;

// Initialises libcurl once per process before the first handle.
void global_init() {
  static const bool done = [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("libcurl: global initialisation failed");
    return true;
  }();
  (void)done;
}

struct HeaderList {
  curl_slist* list = nullptr;
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() { curl_slist_free_all(list); }

  void append(const std::string& line) {
    curl_slist* extended = curl_slist_append(list, line.c_str());
    if (!extended) fail("libcurl: out of memory building request headers");
    list = extended;
  }
};

// Per-transfer state the callbacks write into.
struct Transfer {
  const Request* request = nullptr;
  Response* response = nullptr;
  std::uint64_t sent = 0;
  std::exception_ptr callback_error;
};

bool success(long status) { return status >= 200 && status < 300; }

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);

  Response& response = *transfer->response;
  if (line.starts_with("HTTP/")) {
    // A new status line: an interim 100 or a redirect came before it.
    response.headers.clear();
    auto first = line.find(' ');
    auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    response.status = first == std::string_view::npos ? 0 : std::atol(std::string(line.substr(first + 1, 3)).c_str());
    response.reason = second == std::string_view::npos ? "" : std::string(trim(line.substr(second + 1)));
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(trim(line.substr(0, colon)));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    response.headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * count);
  Response& response = *transfer->response;
  if (success(response.status) && transfer->request->on_data) {
    try {
      transfer->request->on_data(chunk);
    } catch (...) {
      transfer->callback_error = std::current_exception();
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return chunk.size();
  }
  if (response.body.size() + chunk.size() <= max_kept_body) response.body.append(chunk);
  return chunk.size();
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const Body& body = *transfer->request->body;
  std::uint64_t remaining = body.size - transfer->sent;
  std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, size * count));
  if (wanted == 0) return 0;

  std::size_t got = wanted;
  if (body.fd < 0) {
    std::copy_n(body.bytes.data() + body.offset + transfer->sent, wanted, buffer);
  } else {
    ssize_t read = ::pread(body.fd, buffer, wanted, static_cast<off_t>(body.offset + transfer->sent));
    if (read <= 0) return CURL_READFUNC_ABORT;
    got = static_cast<std::size_t>(read);
  }
  transfer->sent += got;

  if (transfer->request->on_sent) {
    try {
      transfer->request->on_sent(transfer->sent);
    } catch (...) {
      transfer->callback_error = std::current_exception();
      return CURL_READFUNC_ABORT;
    }
  }
  return got;
}

bool is_retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool is_tls_handshake(CURLcode code) {
  return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION ||
         code == CURLE_SSL_CACERT_BADFILE;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

std::vector<std::string> Response::all_headers(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers)
    if (key == name) values.push_back(value);
  return values;
}

std::string Response::status_line() const {
  return reason.empty() ? std::to_string(status) : cat(status, " ", reason);
}

struct Session::Handle {
  CURL* curl = nullptr;
  Handle() {
    global_init();
    curl = curl_easy_init();
    if (!curl) fail("libcurl: cannot create a handle");
  }
  ~Handle() { curl_easy_cleanup(curl); }
};

Session::Session() : handle_(std::make_unique<Handle>()) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Response Session::perform(const Request& request) {
  CURL* curl = handle_->curl;
  curl_easy_reset(curl);  // keeps the connection cache

  Response response;
  Transfer transfer{&request, &response, 0, nullptr};
  HeaderList headers;
  for (const auto& line : request.headers) headers.append(line);
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, max_redirects);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for 60 s) counts as a dropped connection.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, request.tls.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, request.tls.verify ? 2L : 0L);
  if (!request.tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.tls.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);

  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.body) {
    // UPLOAD streams the body through on_read; CUSTOMREQUEST then names the
    // real method (POST, PUT or PATCH).
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body->size));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    headers.append("Expect:");  // no 100-continue round trip
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);

  CURLcode code = curl_easy_perform(curl);
  if (transfer.callback_error) std::rethrow_exception(transfer.callback_error);

  char* effective_url = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective_url);
  response.url = effective_url ? effective_url : request.url;
  if (code != CURLE_OK) {
    std::string message = curl_easy_strerror(code);
    if (is_tls_handshake(code) && error_buffer[0] != '\0') message += cat(" (", error_buffer, ")");
    throw TransportError(message, static_cast<int>(code), is_retryable(code), is_tls_handshake(code));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  return response;
}

std::string url_host(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  return std::string(rest);
}

std::string redact_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url.substr(0, url.find('?')));
  std::string_view scheme = url.substr(0, scheme_end + 3);
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('?'));
  auto slash = rest.find('/');
  auto at = rest.substr(0, slash).rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  return cat(scheme, rest);
}

std::string escape(std::string_view text) {
  static const char* digits = "0123456789ABCDEF";
  std::string escaped;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      escaped += static_cast<char>(c);
    } else {
      escaped += '%';
      escaped += digits[c >> 4];
      escaped += digits[c & 15];
    }
  }
  return escaped;
}

}  // namespace imgbuild::registry::http
