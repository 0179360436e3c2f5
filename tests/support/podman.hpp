// SPDX-License-Identifier: Apache-2.0
// A private podman for tests. It has its own containers.conf (runc,
// cgroupfs, file events, netavark, ulimits the test machines accept) and
// its own storage root, run root and tmp dir under a test directory, so
// tests never read or change the host's podman state.
//
//   TempDir dir;
//   PodmanSandbox podman(dir.path());
//   podman.run({"load", "-i", archive});
//   podman.run({"run", "--rm", "--network", "none", "localhost/app:1"});
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/toolkit.hpp"

namespace imgbuild::test {

class PodmanSandbox {
 public:
  // Writes containers.conf and storage.conf under `dir`/podman. Throws Error
  // when podman is not installed.
  explicit PodmanSandbox(const fs::path& dir);
  PodmanSandbox(const PodmanSandbox&) = delete;
  PodmanSandbox& operator=(const PodmanSandbox&) = delete;
  // Removes every container and image of the sandbox.
  ~PodmanSandbox();

  // "CONTAINERS_CONF=..." and "CONTAINERS_STORAGE_CONF=..." for child processes.
  std::vector<std::string> env() const;
  // Runs `podman ARGS...` against the sandbox; captures output and exit code.
  ProcessResult run(const std::vector<std::string>& args) const;

  const fs::path& containers_conf() const { return containers_conf_; }
  const fs::path& storage_conf() const { return storage_conf_; }

 private:
  fs::path root_;
  fs::path containers_conf_;
  fs::path storage_conf_;
};

// Sets environment variables ("K=V") for the lifetime of the object, for
// code under test that runs podman itself; restores the old values after.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::string>& entries);
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv();

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace imgbuild::test
