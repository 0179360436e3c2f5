// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace imgbuild {

// Process exit codes, documented in docs/cli.md. Scripts and CI branch on them.
enum class ExitCode : int {
  success = 0,
  build_failure = 1,  // a step, a pull, a push or an output failed
  usage = 2,          // bad command line, or a recipe that does not validate
  policy = 3,         // the image was built but violates the recipe's policy
  interrupted = 130,  // SIGINT or SIGTERM; everything was cleaned up
};

// The one exception type imgbuild throws. Callers add context on the way up
// with `add_context`, so the message reads outermost first:
// "pulling base 'debian:bookworm': GET /v2/...: 401 Unauthorized".
// `main` catches it once and prints "imgbuild: error: <message>".
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ExitCode code = ExitCode::build_failure)
      : std::runtime_error(std::move(message)), code_(code) {}

  ExitCode code() const noexcept { return code_; }

  // Returns a copy whose message is "context: <old message>".
  Error with_context(std::string_view context) const {
    return Error(std::string(context) + ": " + what(), code_);
  }

 private:
  ExitCode code_;
};

// Concatenates any streamable values into one string.
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// Throws an Error whose message is the concatenation of `parts`.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(cat(parts...));
}

// Throws an Error with an explicit exit code.
template <typename... Parts>
[[noreturn]] void fail_with(ExitCode code, const Parts&... parts) {
  throw Error(cat(parts...), code);
}

// Throws an Error for a failed system call, with strerror(errno) appended.
[[noreturn]] void fail_errno(std::string_view what);
[[noreturn]] void fail_errno(std::string_view what, int error_number);

// Runs `body`; an Error thrown inside it gets `context` prefixed.
template <typename Body>
decltype(auto) with_context(std::string_view context, Body&& body) {
  try {
    return body();
  } catch (const Error& error) {
    throw error.with_context(context);
  }
}

}  // namespace imgbuild
