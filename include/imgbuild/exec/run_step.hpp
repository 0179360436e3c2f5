// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/util/process.hpp"

// Runs one `run` step: mounts the lower layers and an upper directory with
// overlayfs, writes an OCI runtime bundle and runs it with runc (or crun).
// Everything the step writes lands in the upper directory, which the caller
// turns into a layer. See docs/exec.md.
namespace imgbuild::exec {

enum class Network { host, none };

// A secret file bind-mounted read-only into the step. The file is copied
// into the private bundle directory first. The step gets the requested
// owner and mode and never the host file itself.
struct SecretMount {
  std::string name;               // mounted at /run/secrets/NAME unless `target` is set
  std::filesystem::path source;   // host file with the secret value
  std::string target;             // absolute path in the step; empty: /run/secrets/NAME
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0400;
};

// A persistent host directory bind-mounted read-write into the step. Its
// contents survive between steps and never become part of the upper dir.
struct CacheMount {
  std::filesystem::path source;  // host directory; created (uid, gid, mode) when missing
  std::string target;            // absolute path in the step
  bool read_only = false;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0755;
};

// The user a step runs as, already resolved to numeric ids.
struct ResolvedUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string home = "/";  // becomes HOME unless the request's env sets it
};

struct RunRequest {
  std::string label;  // "stage/step", prefixed to output lines as "[stage/step] "

  // Root filesystem: overlay lower directories, bottom first, in overlay
  // form (whiteouts are 0:0 character devices, opaque dirs carry the
  // overlay.opaque xattr). Either `upper_dir` and `work_dir` (same file
  // system, owned by the caller) or `scratch_dir`, in which run_step
  // creates upper/ and work/.
  std::vector<std::filesystem::path> lower_dirs;
  std::filesystem::path upper_dir;
  std::filesystem::path work_dir;
  std::filesystem::path scratch_dir;

  std::vector<std::string> argv;  // already shell-wrapped when the step is a shell string
  std::vector<std::string> env;   // "K=V"; include SOURCE_DATE_EPOCH here
  bool pass_proxy_env = true;     // add host_proxy_env() entries the env does not set
  std::string workdir = "/";      // created (root, 0755) when missing

  // `user` ("name", "uid", "name:group", "uid:gid"; empty: root) is resolved
  // through the lower dirs' /etc/passwd and /etc/group with
  // context::resolve_user unless `resolved_user` is set.
  std::string user;
  std::optional<ResolvedUser> resolved_user;

  std::string hostname = "imgbuild";
  Network network = Network::host;
  std::vector<SecretMount> secrets;
  std::vector<CacheMount> caches;
  bool no_new_privileges = false;

  std::string runtime = "auto";             // "runc", "crun" or "auto"
  std::filesystem::path runtime_state_dir;  // runtime --root; empty: private dir per step
  std::filesystem::path store_dir;          // caches the runtime probe; may be empty

  // Receives each output line ("[label] text") as it arrives.
  std::function<void(std::string_view line, Stream stream)> on_output;
  // Polled about every 100 ms while the step runs; true stops the step.
  std::function<bool()> cancelled;
  std::size_t tail_lines = 20;  // how many output lines StepResult keeps
};

struct StepResult {
  int exit_code = -1;                    // the step's exit code; 128+N when killed by signal N
  std::vector<std::string> last_lines;   // without the label prefix
  std::chrono::duration<double> duration{};
  bool cancelled = false;                // stopped by `cancelled` or an interrupt
  std::string runtime_error;             // the runtime's own error when it failed to start the step
  std::filesystem::path upper_dir;       // where the step's changes are
  std::filesystem::path work_dir;
};

// Runs the step and returns once everything it mounted, created and started
// is gone again (also when it throws). Throws Error when the step cannot be
// set up (mount, runtime, user lookup); a step that runs and fails returns
// its exit code instead.
StepResult run_step(const RunRequest& request);

// Returns the proxy variables of imgbuild's own environment (http_proxy,
// https_proxy, no_proxy, their upper-case forms and ALL_PROXY) as "K=V".
// Steps get them; cache keys and image configs must not.
std::vector<std::string> host_proxy_env();

}  // namespace imgbuild::exec
