// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace imgbuild::exec {

// The OCI runtime a step runs with and the resource limits it accepts.
struct RuntimeInfo {
  std::string name;               // "runc" or "crun"
  std::filesystem::path program;  // full path
  std::string version;            // first line of `NAME --version`
  std::uint64_t nofile = 0;       // RLIMIT_NOFILE the runtime accepted in a trial start
  std::uint64_t nproc = 0;        // RLIMIT_NPROC the runtime accepted in a trial start
};

// Selects the runtime `name` ("runc", "crun" or "auto": the first of runc and
// crun that starts a trivial container) and finds the highest RLIMIT_NOFILE
// and RLIMIT_NPROC it accepts, by trial starts. The result is cached for the
// process and, when `store_dir` is not empty, in STORE/runtime-probe.json
// (re-probed when the runtime's version or the host limits change). Throws
// Error naming what was tried when no runtime works.
RuntimeInfo probe_runtime(const std::string& name, const std::filesystem::path& store_dir = {});

}  // namespace imgbuild::exec
