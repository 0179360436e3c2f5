// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace imgbuild::exec {

struct BindMount {
  std::filesystem::path source;
  std::string destination;
  bool read_only = true;
};

// What the OCI runtime spec of a step depends on.
struct SpecInput {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string hostname;
  bool network_none = false;
  bool no_new_privileges = false;
  std::optional<std::uint64_t> nofile;  // nothing: leave the runtime's default
  std::optional<std::uint64_t> nproc;
  std::string root_path = "rootfs";
  bool root_read_only = false;
  std::vector<BindMount> binds;
  // Set when imgbuild itself runs in a user namespace (building without
  // root): the step binds /sys instead of mounting sysfs, leaves the tty
  // group out of /dev/pts and has no cgroup device rules.
  bool in_user_namespace = false;
};

// Builds config.json as Docker's build steps have it: Docker's default
// capabilities, masked and read-only /proc and /sys paths, pid, ipc, uts and
// mount namespaces, and a network namespace only for `network_none`.
nlohmann::json make_runtime_spec(const SpecInput& input);

// Docker's default capability set for containers and build steps.
const std::vector<std::string>& default_capabilities();

}  // namespace imgbuild::exec
