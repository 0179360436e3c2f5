// SPDX-License-Identifier: Apache-2.0
// Clean-up after cancelled and interrupted steps. The interrupt cases start
// this test binary again with the hidden case "exec: interrupted step
// helper", which installs imgbuild's signal handler and runs a long step.
// The test sends it SIGINT or SIGTERM once the step has started.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "exec/step_fixture.hpp"
#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

extern char** environ;

using namespace imgbuild;
using namespace imgbuild::exec;

namespace {

constexpr const char* helper_dir_variable = "IMGBUILD_EXEC_HELPER_DIR";
constexpr const char* long_step = "touch /cache/started; sleep 120";

bool wait_for_file(const fs::path& path, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Starts this test binary with `arguments`, and `overrides` ("K=V") replacing
// variables of the same name; returns its PID.
pid_t spawn_self(const std::vector<std::string>& arguments, const std::vector<std::string>& overrides) {
  std::vector<std::string> argv = {fs::read_symlink("/proc/self/exe").string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::vector<std::string> env;
  for (char** entry = environ; *entry; ++entry) {
    std::string_view text(*entry);
    bool overridden = std::any_of(overrides.begin(), overrides.end(), [&](const std::string& override_entry) {
      return text.substr(0, text.find('=') + 1) == override_entry.substr(0, override_entry.find('=') + 1);
    });
    if (!overridden) env.emplace_back(text);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());

  std::vector<char*> c_argv, c_env;
  for (auto& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  for (auto& entry : env) c_env.push_back(entry.data());
  c_env.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, c_argv[0], nullptr, nullptr, c_argv.data(), c_env.data()) != 0) fail_errno("posix_spawn");
  return pid;
}

// Kills a helper that a failed check left running.
struct HelperGuard {
  pid_t pid;
  ~HelperGuard() {
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> runc_containers(const fs::path& state_dir) {
  if (!fs::exists(state_dir)) return {};
  std::string listing = run_checked({"runc", "--root", state_dir.string(), "list", "-q"});
  std::vector<std::string> ids;
  for (const auto& line : split(listing, '\n'))
    if (!line.empty()) ids.push_back(line);
  return ids;
}

void check_interrupted_run(int signal) {
  test::StepFixture fixture;
  fs::path tmp = fixture.dir / "tmp", state = fixture.dir / "state", cache = fixture.dir / "cache";
  fs::create_directories(tmp);

  pid_t pid = spawn_self({"exec: interrupted step helper"},
                         {cat(helper_dir_variable, "=", fixture.dir.path().string()), cat("TMPDIR=", tmp.string())});
  HelperGuard guard{pid};
  REQUIRE(wait_for_file(cache / "started", 60));
  REQUIRE(test::entries_of(tmp).size() == 1);  // the step's temporary dir
  REQUIRE(runc_containers(state).size() == 1);
  REQUIRE(test::mounts_under(tmp).size() == 1);

  ::kill(pid, signal);
  int exit_code = wait_exit_code(pid);
  guard.pid = -1;
  CHECK(exit_code == 128 + signal);
  CHECK(test::mounts_under(fixture.dir.path()).empty());
  CHECK(test::entries_of(tmp).empty());
  CHECK(runc_containers(state).empty());
}

}  // namespace

TEST_CASE("exec: interrupted step helper", "[.][exec-helper]") {
  const char* directory = std::getenv(helper_dir_variable);
  if (!directory) return;
  cleanup::install_signal_handler();

  // The test that starts the helper made the busybox root in ROOT/base.
  fs::path root(directory);
  RunRequest request;
  request.lower_dirs = {root / "base"};
  request.argv = {"/bin/sh", "-c", long_step};
  request.scratch_dir = root / "scratch";
  request.runtime_state_dir = root / "state";
  request.caches.push_back({root / "cache", "/cache"});
  run_step(request);
  FAIL("the step was expected to be interrupted");
}

TEST_CASE("exec: SIGINT during a step cleans up", "[exec]") {
  SKIP_UNLESS_ROOT();
  check_interrupted_run(SIGINT);
}

TEST_CASE("exec: SIGTERM during a step cleans up", "[exec]") {
  SKIP_UNLESS_ROOT();
  check_interrupted_run(SIGTERM);
}

TEST_CASE("exec: cancelled step cleans up", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path tmp = fixture.dir / "tmp", state = fixture.dir / "state", cache = fixture.dir / "cache";
  fs::create_directories(tmp);
  std::string saved_tmpdir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", tmp.c_str(), 1);

  RunRequest request = fixture.request({fixture.base}, long_step);
  request.runtime_state_dir = state;
  request.caches.push_back({cache, "/cache"});
  request.cancelled = [&] { return fs::exists(cache / "started"); };
  auto started = std::chrono::steady_clock::now();
  StepResult result = run_step(request);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  if (saved_tmpdir.empty()) ::unsetenv("TMPDIR");
  else ::setenv("TMPDIR", saved_tmpdir.c_str(), 1);

  CHECK(result.cancelled);
  CHECK(result.exit_code == 128 + SIGKILL);
  CHECK(took.count() < 60);
  CHECK(test::mounts_under(fixture.dir.path()).empty());
  CHECK(test::entries_of(tmp).empty());
  CHECK(runc_containers(state).empty());
}
