// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

extern char** environ;

namespace imgbuild {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe failed");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<std::string> build_env(const ProcessOptions& options) {
  std::vector<std::string> env;
  if (options.env) {
    env = *options.env;
  } else {
    for (char** entry = environ; *entry; ++entry) env.emplace_back(*entry);
  }
  env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Splits buffered output into lines for `on_line`, keeping a partial tail.
void emit_lines(const ProcessOptions& options, Stream stream, std::string& pending, bool final) {
  if (!options.on_line) return;
  std::size_t start = 0;
  for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos; start = newline + 1)
    options.on_line(stream, std::string_view(pending).substr(start, newline - start));
  pending.erase(0, start);
  if (final && !pending.empty()) {
    options.on_line(stream, pending);
    pending.clear();
  }
}

void pump(const ProcessOptions& options, UniqueFd& out, UniqueFd& err, UniqueFd& in, ProcessResult& result) {
  std::string pending_out, pending_err;
  std::string_view to_write = options.stdin_data ? std::string_view(*options.stdin_data) : std::string_view();
  if (in.valid() && to_write.empty()) in.reset();
  char buffer[65536];
  while (out.valid() || err.valid() || in.valid()) {
    pollfd fds[3] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}, {in.get(), POLLOUT, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll failed");
    }
    if (in.valid() && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in.get(), to_write.data(), std::min<std::size_t>(to_write.size(), 65536));
      if (n > 0) to_write.remove_prefix(static_cast<std::size_t>(n));
      if (n < 0 || to_write.empty()) in.reset();
    }
    struct Source { UniqueFd& fd; short revents; Stream stream; std::string& pending; std::string& kept; };
    Source sources[] = {{out, fds[0].revents, Stream::out, pending_out, result.out},
                        {err, fds[1].revents, Stream::err, pending_err, result.err}};
    for (auto& source : sources) {
      if (!source.fd.valid() || !(source.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(source.fd.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        source.fd.reset();
        emit_lines(options, source.stream, source.pending, true);
        continue;
      }
      if (options.capture) source.kept.append(buffer, static_cast<std::size_t>(n));
      source.pending.append(buffer, static_cast<std::size_t>(n));
      emit_lines(options, source.stream, source.pending, false);
    }
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) fail("run_process: empty command");
  Pipe out = make_pipe(), err = make_pipe();
  std::optional<Pipe> in;
  if (options.stdin_data) in = make_pipe();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in) posix_spawn_file_actions_adddup2(&actions, in->read.get(), 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  if (!options.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&actions, options.working_directory.c_str());

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = argv, env = build_env(options);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attributes, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) fail_errno(cat("cannot run ", quote(argv[0])), rc);

  out.write.reset();
  err.write.reset();
  UniqueFd in_write;
  if (in) {
    in->read.reset();
    in_write = std::move(in->write);
  }
  ProcessResult result;
  pump(options, out.read, err.read, in_write, result);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail_errno("waitpid failed");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult result = run_process(argv, options);
  if (result.exit_code != 0) {
    std::string command = join(argv, " ");
    fail("command failed with exit code ", result.exit_code, ": ", command,
         result.err.empty() ? "" : "\n", tail_lines(result.err, 20));
  }
  return std::move(result.out);
}

std::optional<std::filesystem::path> find_program(std::string_view program) {
  if (program.find('/') != std::string_view::npos) {
    if (::access(std::string(program).c_str(), X_OK) == 0) return std::filesystem::path(program);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  for (const auto& directory : split(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", ':')) {
    std::filesystem::path candidate = std::filesystem::path(directory.empty() ? "." : directory) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string tail_lines(std::string_view text, std::size_t lines) {
  while (text.ends_with('\n')) text.remove_suffix(1);
  std::size_t position = text.size();
  for (std::size_t seen = 0; position > 0; --position) {
    if (text[position - 1] == '\n' && ++seen == lines) break;
  }
  return std::string(text.substr(position));
}

}  // namespace imgbuild
