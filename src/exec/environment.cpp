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

}  // namespace imgbuild::exec
