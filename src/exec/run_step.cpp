// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/exec/run_step.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "exec/bundle.hpp"
#include "exec/container.hpp"
#include "exec/overlay.hpp"
#include "exec/spec.hpp"
#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/context/users.hpp"
#include "imgbuild/exec/runtime.hpp"
#include "imgbuild/exec/user_namespace.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/userns.hpp"

namespace imgbuild::exec {
namespace {

namespace fs = std::filesystem;

void validate(const RunRequest& request) {
  if (request.argv.empty()) fail("step ", quote(request.label), " has no command: give argv");
  if (request.lower_dirs.empty()) fail("step ", quote(request.label), " has no lower dirs: give the base layers");
  if (request.upper_dir.empty() != request.work_dir.empty())
    fail("step ", quote(request.label), " needs both upper_dir and work_dir, or neither and a scratch_dir");
  if (request.upper_dir.empty() && request.scratch_dir.empty())
    fail("step ", quote(request.label), " needs an upper_dir and work_dir or a scratch_dir");
  if (request.workdir.empty() || request.workdir[0] != '/')
    fail("invalid workdir ", quote(request.workdir), ": use an absolute path");
  for (const auto& cache : request.caches)
    if (cache.target.empty() || cache.target[0] != '/')
      fail("invalid cache mount target ", quote(cache.target), ": use an absolute path");
  for (const auto& secret : request.secrets)
    if (!secret.target.empty() && secret.target[0] != '/')
      fail("invalid secret target ", quote(secret.target), ": use an absolute path");
}

std::pair<fs::path, fs::path> upper_and_work(const RunRequest& request) {
  fs::path upper = request.upper_dir, work = request.work_dir;
  if (upper.empty()) {
    upper = request.scratch_dir / "upper";
    work = request.scratch_dir / "work";
  }
  fs::create_directories(upper);
  fs::create_directories(work);
  return {upper, work};
}

std::string unique_container_id() {
  static std::atomic<unsigned> counter{0};
  return cat("imgbuild-", ::getpid(), "-", counter++, "-", std::chrono::steady_clock::now().time_since_epoch().count());
}

std::vector<std::string> mount_targets(const std::vector<BindMount>& binds) {
  std::vector<std::string> targets = {"proc", "dev", "sys"};
  for (const auto& bind : binds) targets.push_back(bind.destination.substr(1));
  return targets;
}

// Keeps the last lines of output and forwards each with the step's label.
class OutputTail {
 public:
  explicit OutputTail(const RunRequest& request) : request_(request) {}

  void add(Stream stream, std::string_view line) {
    lines_.emplace_back(line);
    if (lines_.size() > request_.tail_lines) lines_.pop_front();
    if (request_.on_output)
      request_.on_output(request_.label.empty() ? std::string(line) : cat("[", request_.label, "] ", line), stream);
  }
  std::vector<std::string> lines() const { return {lines_.begin(), lines_.end()}; }

 private:
  const RunRequest& request_;
  std::deque<std::string> lines_;
};

SpecInput make_spec_input(const RunRequest& request, const RuntimeInfo& runtime, const ResolvedUser& user,
                          std::vector<BindMount> binds) {
  SpecInput input;
  input.args = request.argv;
  input.env = step_env(request, user);
  input.cwd = request.workdir;
  input.uid = user.uid;
  input.gid = user.gid;
  input.additional_gids = user.additional_gids;
  input.hostname = request.hostname;
  input.network_none = request.network == Network::none;
  input.no_new_privileges = request.no_new_privileges;
  if (runtime.nofile) input.nofile = runtime.nofile;
  if (runtime.nproc) input.nproc = runtime.nproc;
  input.binds = std::move(binds);
  return input;
}

// After SIGINT or SIGTERM the interrupt handler's thread deletes the
// container, unmounts and removes the temporary dirs, then exits the process.
// Undoing the same things here would race with it, so wait for that exit.
[[noreturn]] void wait_for_interrupt_exit() {
  std::this_thread::sleep_for(std::chrono::seconds(60));
  fail_with(ExitCode::interrupted, "interrupted, and the clean-up did not finish within 60 seconds");
}

// runc reports an unmapped user only as "unable to setup user: invalid
// argument"; name the id and the fix instead.
void require_mapped(const RunRequest& request, const ResolvedUser& user) {
  std::vector<std::pair<const char*, std::uint32_t>> ids = {{"uid", user.uid}, {"gid", user.gid}};
  for (std::uint32_t gid : user.additional_gids) ids.emplace_back("supplementary gid", gid);
  for (const auto& [kind, id] : ids) {
    if (id_mapped(id, kind[0] != 'u'))
      continue;
    std::string limitation = limited_ids_reason();
    fail("step ", quote(request.label), " runs as ", kind, " ", id, ", which is not mapped in imgbuild's user "
         "namespace: ",
         limitation.empty() ? "it is beyond your user's range in /etc/subuid and /etc/subgid; give it a larger range"
                            : "only your own uid and gid are mapped; " + limitation);
  }
}

ResolvedUser resolve_user(const RunRequest& request) {
  context::RootfsView view(request.lower_dirs, cat("step ", quote(request.label)));
  context::UserIds ids = context::resolve_user(view, request.user.empty() ? "0" : request.user);
  return {ids.uid, ids.gid, ids.additional_gids, ids.home};
}

}  // namespace

StepResult run_step(const RunRequest& request) {
  auto started = std::chrono::steady_clock::now();
  validate(request);
  if (::geteuid() != 0)
    fail("running a step needs root, in the host's or a user namespace: the imgbuild command enters a user "
         "namespace by itself when started without root");
  bool rootless = in_user_namespace();

  RuntimeInfo runtime = probe_runtime(request.runtime, request.store_dir);
  auto [upper, work] = upper_and_work(request);

  // Registered with the interrupt handler first, so it is removed last:
  // after the container is deleted and the overlay unmounted.
  TempDir temp("imgbuild-run-");
  fs::path rootfs = temp / "rootfs", bundle = temp / "bundle";
  fs::create_directories(bundle);
  ::chmod(temp.path().c_str(), 0700);
  OverlayMount overlay(request.lower_dirs, upper, work, rootfs, temp / "overlay", rootless);

  ResolvedUser user = request.resolved_user ? *request.resolved_user : resolve_user(request);
  if (rootless) require_mapped(request, user);
  std::vector<BindMount> binds = prepare_binds(request, bundle);
  MountStubs stubs(rootfs, upper, mount_targets(binds));

  SpecInput input = make_spec_input(request, runtime, user, std::move(binds));
  input.root_path = rootfs.string();
  input.in_user_namespace = rootless;
  write_file_atomic(bundle / "config.json", make_runtime_spec(input).dump(2) + "\n");

  fs::path state_dir = request.runtime_state_dir.empty() ? temp / "state" : request.runtime_state_dir;
  OutputTail tail(request);
  ContainerOutcome outcome;
  {
    Container container(runtime, state_dir, unique_container_id());
    outcome = container.run(bundle, [&](Stream stream, std::string_view line) { tail.add(stream, line); },
                            request.cancelled);
  }
  if (cleanup::interrupted()) wait_for_interrupt_exit();
  stubs.remove();
  overlay.unmount();
  stubs.prune_upper(request.lower_dirs);

  StepResult result;
  result.exit_code = outcome.exit_code;
  result.cancelled = outcome.cancelled;
  result.runtime_error = outcome.runtime_error;
  result.last_lines = tail.lines();
  result.upper_dir = upper;
  result.work_dir = work;
  result.duration = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace imgbuild::exec
