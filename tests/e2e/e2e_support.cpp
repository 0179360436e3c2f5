// SPDX-License-Identifier: Apache-2.0
#include "e2e/e2e_support.hpp"

#include <chrono>
#include <sstream>
#include <thread>

#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

namespace imgbuild::test {

StepCounts count_steps(const std::string& log) {
  StepCounts counts;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("] ") == std::string::npos || line.find(" ... ") == std::string::npos) continue;
    if (line.find(" ... cached ") != std::string::npos) ++counts.cached;
    if (line.find(" ... built ") != std::string::npos) ++counts.built;
  }
  return counts;
}

std::vector<std::string> layer_names(const std::filesystem::path& blob) {
  std::string listing = run_checked({"tar", "-tf", blob.string()});
  std::vector<std::string> names;
  for (auto& line : split(listing, '\n'))
    if (!line.empty()) names.push_back(line);
  return names;
}

bool wait_for_log(const std::filesystem::path& log, std::string_view text, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto contains = [&] {
    std::error_code error;
    return std::filesystem::exists(log, error) && read_file(log).find(text) != std::string::npos;
  };
  while (!contains()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

std::vector<std::string> mounts_under(const std::filesystem::path& prefix) {
  std::vector<std::string> found;
  std::istringstream lines(read_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    auto fields = split(line, ' ');
    if (fields.size() > 4 && fields[4].rfind(prefix.string(), 0) == 0) found.push_back(fields[4]);
  }
  return found;
}

}  // namespace imgbuild::test
