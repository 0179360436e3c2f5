// SPDX-License-Identifier: Apache-2.0
#include "support/podman.hpp"

#include <cstdlib>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::test {

PodmanSandbox::PodmanSandbox(const fs::path& dir) : root_(dir / "podman") {
  if (!find_program("podman")) fail("podman not found: install podman (scripts/install-deps.sh does)");
  fs::create_directories(root_ / "tmp");
  containers_conf_ = root_ / "containers.conf";
  storage_conf_ = root_ / "storage.conf";

  // runc, because crun 1.8 fails every start on cgroup v1 hybrid hosts. The
  // ulimits stay at the hard limits runc could raise to on the test machines,
  // where higher values fail the container start with EPERM. There is no
  // systemd, so podman uses cgroupfs and a file event log.
  write(containers_conf_, cat("[containers]\n"
                              "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
                              "[engine]\n"
                              "runtime = \"runc\"\n"
                              "cgroup_manager = \"cgroupfs\"\n"
                              "events_logger = \"file\"\n"
                              "tmp_dir = \"", (root_ / "tmp").string(), "\"\n"
                              "[network]\n"
                              "network_backend = \"netavark\"\n"));
  // The vfs driver mounts nothing, so removing the test directory always works.
  write(storage_conf_, cat("[storage]\n"
                           "driver = \"vfs\"\n"
                           "graphroot = \"", (root_ / "graph").string(), "\"\n"
                           "runroot = \"", (root_ / "run").string(), "\"\n"));
}

PodmanSandbox::~PodmanSandbox() {
  run({"rm", "--all", "--force", "--time", "0"});
  run({"rmi", "--all", "--force"});
}

std::vector<std::string> PodmanSandbox::env() const {
  return {cat("CONTAINERS_CONF=", containers_conf_.string()), cat("CONTAINERS_STORAGE_CONF=", storage_conf_.string())};
}

ProcessResult PodmanSandbox::run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"podman"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.extra_env = env();
  return run_process(argv, options);
}

ScopedEnv::ScopedEnv(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    auto equals = entry.find('=');
    std::string key = entry.substr(0, equals);
    const char* old = std::getenv(key.c_str());
    saved_.emplace_back(key, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(key.c_str(), entry.substr(equals + 1).c_str(), 1);
  }
}

ScopedEnv::~ScopedEnv() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    if (it->second)
      ::setenv(it->first.c_str(), it->second->c_str(), 1);
    else
      ::unsetenv(it->first.c_str());
  }
}

}  // namespace imgbuild::test
