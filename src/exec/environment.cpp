// SPDX-License-Identifier: Apache-2.0
// Host-derived environment for steps and the list of files that change on
// every run whatever the step does.
#include <cstdlib>

#include "imgbuild/exec/run_step.hpp"

namespace imgbuild::exec {

std::vector<std::string> host_proxy_env() {
  std::vector<std::string> env;
  for (const char* name : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                           "ALL_PROXY"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  return env;
}

const std::vector<std::string>& default_volatile_paths() {
  // Each of these is rewritten by dpkg, apt, update-alternatives, ldconfig or
  // debconf with the current time (or a backup of the previous state) on
  // every run, so keeping them would make every layer differ. The patterns
  // are for layer::ScanOptions::exclude, where '*' also matches '/'.
  static const std::vector<std::string> paths = {
      "var/log/dpkg.log",
      "var/log/apt/history.log",
      "var/log/apt/term.log",
      "var/log/apt/eipp.log.xz",
      "var/log/alternatives.log",
      "var/cache/ldconfig/aux-cache",
      "var/cache/debconf/*-old",
      "var/lib/dpkg/*-old",
  };
  return paths;
}

}  // namespace imgbuild::exec
