// SPDX-License-Identifier: Apache-2.0
// Helpers for the registry tests: client options for a TestRegistry, auth
// files, environment overrides and stderr capture for log checks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <string>
#include <unistd.h>

#include "imgbuild/registry/auth.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/registry.hpp"

namespace imgbuild::test {

inline const image::Platform linux_amd64{"linux", "amd64", ""};

// Client options that trust `registry`: its CA with TLS, the insecure flag without.
inline registry::RegistryOptions client_options(const TestRegistry& server) {
  registry::RegistryOptions options;
  registry::HostOptions host;
  if (server.tls())
    host.ca_file = server.ca_file();
  else
    host.insecure = true;
  options.hosts[server.host()] = host;
  options.retry_delay = std::chrono::milliseconds(10);
  return options;
}

// Writes a docker-config style file with one basic-auth entry for `host`.
inline void write_auth_file(const fs::path& path, const std::string& host, const std::string& user,
                            const std::string& password) {
  write(path, R"({"auths": {")" + host + R"(": {"auth": ")" + registry::base64_encode(user + ":" + password) +
                  R"("}}})");
}

// Sets (or with nothing, unsets) an environment variable until destroyed.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Redirects the process's stderr into a file until `text()` or destruction,
// so tests can read what the log printed.
class CapturedStderr {
 public:
  CapturedStderr() : file_(dir_ / "stderr") {
    std::fflush(stderr);
    saved_ = ::dup(2);
    UniqueFd fd = open_file(file_, O_WRONLY | O_CREAT | O_TRUNC);
    ::dup2(fd.get(), 2);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;
  ~CapturedStderr() { restore(); }

  // Restores stderr and returns everything written meanwhile.
  std::string text() {
    restore();
    return read_file(file_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  TempDir dir_{"imgbuild-test-stderr-"};
  fs::path file_;
  int saved_ = -1;
};

// Returns the message of the Error `body` throws, or "no error".
template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace imgbuild::test
