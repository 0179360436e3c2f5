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

// One contiguous id range of a user namespace mapping.
struct IdMapping {
  std::uint32_t container_id = 0;
  std::uint32_t host_id = 0;
  std::uint32_t size = 0;
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
  // Set for rootless runs: the spec gets a user namespace with these
  // mappings, binds /sys instead of mounting sysfs and drops cgroup rules.
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

// Builds config.json as Docker's build steps have it: Docker's default
// capabilities, masked and read-only /proc and /sys paths, pid, ipc, uts and
// mount namespaces, and a network namespace only for `network_none`.
nlohmann::json make_runtime_spec(const SpecInput& input);

// Docker's default capability set for containers and build steps.
const std::vector<std::string>& default_capabilities();

}  // namespace imgbuild::exec
