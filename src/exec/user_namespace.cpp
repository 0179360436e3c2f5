// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/exec/user_namespace.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/rootless.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/userns.hpp"

namespace imgbuild::exec {
namespace {

constexpr const char* limited_ids_variable = "IMGBUILD_LIMITED_IDS";

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("cannot create a pipe");
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

// The signals the outer process relays to the inner one, plus SIGCHLD,
// which marks the end of the inner one.
sigset_t relayed_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) ::sigaddset(&set, signal);
  return set;
}

[[noreturn]] void child_failure(const char* what) {
  std::fprintf(stderr, "imgbuild: error: %s: %s\n", what, std::strerror(errno));
  ::_exit(static_cast<int>(ExitCode::build_failure));
}

// Runs in the forked child: creates the namespaces, lets the parent write
// the id maps, becomes namespace root and starts the program again.
[[noreturn]] void become_root_and_exec(char** argv, Pipe& ready, Pipe& mapped, const sigset_t& old_mask,
                                       pid_t parent) {
  ready.read_end.reset();
  mapped.write_end.reset();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
    child_failure("cannot create a user namespace (is user.max_user_namespaces 0, or "
                  "kernel.unprivileged_userns_clone off?)");
  if (::write(ready.write_end.get(), "r", 1) != 1) ::_exit(1);
  char byte = 0;
  if (::read(mapped.read_end.get(), &byte, 1) != 1) ::_exit(1);  // the parent failed and printed the reason

  if (::setresgid(0, 0, 0) != 0) child_failure("cannot become gid 0 in the user namespace");
  if (::setresuid(0, 0, 0) != 0) child_failure("cannot become uid 0 in the user namespace");
  ::setgroups(0, nullptr);  // fails, harmlessly, when only the caller's ids are mapped
  // If the outer process dies, even by SIGKILL, the build stops and cleans
  // up as on SIGTERM. Set after the id changes, which clear the setting.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_failure("cannot ask for the parent's death signal");
  if (::getppid() != parent) ::_exit(static_cast<int>(ExitCode::interrupted));
  // Private propagation keeps the steps' mounts out of the host's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    child_failure("cannot make the mounts of the new namespace private");

  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::execv("/proc/self/exe", argv);
  child_failure("cannot start imgbuild again in the user namespace");
}

std::string map_text(const std::vector<IdMapping>& mappings) {
  std::string text;
  for (const auto& mapping : mappings) text += cat(mapping.inner, " ", mapping.outer, " ", mapping.size, "\n");
  return text;
}

std::vector<std::string> map_arguments(const std::string& program, pid_t pid, const std::vector<IdMapping>& mappings) {
  std::vector<std::string> argv = {program, std::to_string(pid)};
  for (const auto& mapping : mappings)
    argv.insert(argv.end(), {std::to_string(mapping.inner), std::to_string(mapping.outer), std::to_string(mapping.size)});
  return argv;
}

void write_proc_file(pid_t pid, const char* name, const std::string& text) {
  fs::path path = fs::path("/proc") / std::to_string(pid) / name;
  UniqueFd fd = open_file(path, O_WRONLY);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    fail_errno(cat("cannot write ", quote(trim(text)), " to ", path));
}

void write_id_maps(pid_t pid, const RootlessIds& ids) {
  if (ids.subordinate) {
    run_checked(map_arguments("newuidmap", pid, ids.uid_mappings));
    run_checked(map_arguments("newgidmap", pid, ids.gid_mappings));
    return;
  }
  // Without newgidmap the kernel accepts a gid map only once setgroups(2)
  // is denied in the namespace.
  write_proc_file(pid, "setgroups", "deny");
  write_proc_file(pid, "uid_map", map_text(ids.uid_mappings));
  write_proc_file(pid, "gid_map", map_text(ids.gid_mappings));
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// Waits for the inner process and relays signals sent to this one. A
// terminal's Ctrl-C already reaches the whole foreground group, the inner
// process included, so only signals sent by kill(2) are relayed.
int relay_until_exit(pid_t child, const sigset_t& signals) {
  for (;;) {
    siginfo_t info{};
    int signal = ::sigwaitinfo(&signals, &info);
    if (signal == SIGCHLD) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) return exit_code_of(status);
    } else if (signal > 0 && info.si_code <= 0) {
      ::kill(child, signal);
    }
  }
}

int abandon_child(pid_t child) {
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  return static_cast<int>(ExitCode::build_failure);
}

}  // namespace

std::string limited_ids_reason() {
  const char* limitation = std::getenv(limited_ids_variable);
  return limitation && in_user_namespace() ? limitation : "";
}

void warn_if_ids_limited() {
  std::string limitation = limited_ids_reason();
  if (limitation.empty()) return;
  log::warn(cat("building without root with only your own uid and gid mapped: steps cannot switch users and "
                "files cannot belong to anyone but root; ", limitation));
}

std::optional<int> rerun_in_user_namespace(char** argv) {
  if (::geteuid() == 0) return std::nullopt;
  RootlessIds ids = rootless_id_mappings();
  // The inner process warns, after --progress has set the log format.
  if (!ids.subordinate) ::setenv(limited_ids_variable, ids.limitation.c_str(), 1);

  sigset_t signals = relayed_signals(), old_mask;
  ::sigprocmask(SIG_BLOCK, &signals, &old_mask);
  Pipe ready, mapped;
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) fail_errno("cannot fork to enter a user namespace");
  if (child == 0) become_root_and_exec(argv, ready, mapped, old_mask, parent);

  ready.write_end.reset();
  mapped.read_end.reset();
  char byte = 0;
  if (::read(ready.read_end.get(), &byte, 1) != 1) {  // the child failed to unshare and printed the reason
    int status = 0;
    ::waitpid(child, &status, 0);
    return exit_code_of(status);
  }
  try {
    write_id_maps(child, ids);
  } catch (const Error& error) {
    std::fprintf(stderr, "imgbuild: error: cannot map ids into the user namespace: %s\n", error.what());
    return abandon_child(child);
  }
  if (::write(mapped.write_end.get(), "m", 1) != 1) return abandon_child(child);
  return relay_until_exit(child, signals);
}

}  // namespace imgbuild::exec
