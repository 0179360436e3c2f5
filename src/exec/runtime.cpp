// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/exec/runtime.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sys/resource.h>
#include <unistd.h>

#include "exec/spec.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "imgbuild/util/userns.hpp"

namespace imgbuild::exec {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* probe_file_name = "runtime-probe.json";
// Used when the host limit is unlimited. It is the kernel's default
// fs.nr_open, the highest RLIMIT_NOFILE a process may set without raising it.
constexpr std::uint64_t unlimited_fallback = 1048576;

struct HostLimits {
  std::uint64_t nofile = 0;
  std::uint64_t nproc = 0;
};

std::uint64_t hard_limit(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) return unlimited_fallback;
  return limit.rlim_max;
}

HostLimits host_limits() { return {hard_limit(RLIMIT_NOFILE), hard_limit(RLIMIT_NPROC)}; }

// Lower values to try after the host's hard limit was rejected, highest first.
std::vector<std::uint64_t> candidates_below(std::uint64_t hard) {
  std::vector<std::uint64_t> values = {hard};
  for (std::uint64_t value : {1048576, 524288, 262144, 131072, 65536, 32768, 20000, 16384, 8192, 4096, 1024})
    if (value < hard) values.push_back(value);
  return values;
}

// Mirrors the host's /usr, /bin, /lib... into an empty root: symlinks as
// they are, directories as read-only binds. Enough to run `true`.
SpecInput trial_spec(const fs::path& rootfs) {
  SpecInput input;
  auto true_program = find_program("true");
  if (!true_program) fail("cannot probe the container runtime: the program 'true' is not in PATH");
  input.args = {fs::canonical(*true_program).string()};
  input.env = {"PATH=/usr/bin:/bin"};
  input.hostname = "imgbuild-probe";
  for (const char* name : {"usr", "bin", "sbin", "lib", "lib32", "lib64"}) {
    fs::path host = fs::path("/") / name;
    std::error_code error;
    auto status = fs::symlink_status(host, error);
    if (error || !fs::exists(status)) continue;
    if (fs::is_symlink(status))
      fs::create_symlink(fs::read_symlink(host), rootfs / name);
    else if (fs::is_directory(status))
      input.binds.push_back({host, std::string("/") + name, true});
  }
  input.in_user_namespace = in_user_namespace();
  return input;
}

// Starts a trivial container with the given limits; returns the runtime's
// error output, empty on success.
std::string trial_start(const fs::path& program, std::optional<std::uint64_t> nofile,
                        std::optional<std::uint64_t> nproc) {
  static std::atomic<unsigned> counter{0};
  TempDir scratch("imgbuild-probe-");
  fs::create_directories(scratch / "bundle/rootfs");
  SpecInput input = trial_spec(scratch / "bundle/rootfs");
  input.nofile = nofile;
  input.nproc = nproc;
  write_file_atomic(scratch / "bundle/config.json", make_runtime_spec(input).dump(2));

  std::string id = cat("imgbuild-probe-", ::getpid(), "-", counter++);
  std::vector<std::string> state = {program.string(), "--root", (scratch / "state").string()};
  std::vector<std::string> run = state;
  run.insert(run.end(), {"run", "--bundle", (scratch / "bundle").string(), id});
  ProcessResult result = run_process(run);
  if (result.exit_code == 0) return {};

  std::vector<std::string> remove = state;
  remove.insert(remove.end(), {"delete", "--force", id});
  run_process(remove);
  std::string error = tail_lines(result.err + result.out, 3);
  return error.empty() ? cat("exit code ", result.exit_code) : error;
}

std::optional<std::uint64_t> highest_accepted(const fs::path& program, std::uint64_t hard, bool nofile) {
  for (std::uint64_t value : candidates_below(hard)) {
    std::string error = nofile ? trial_start(program, value, std::nullopt) : trial_start(program, std::nullopt, value);
    if (error.empty()) return value;
    log::debug(cat("runtime rejected ", nofile ? "RLIMIT_NOFILE=" : "RLIMIT_NPROC=", value, ": ", error));
  }
  return std::nullopt;
}

void probe_limits(RuntimeInfo& info, const HostLimits& host) {
  if (trial_start(info.program, host.nofile, host.nproc).empty()) {
    info.nofile = host.nofile;
    info.nproc = host.nproc;
    return;
  }
  info.nofile = highest_accepted(info.program, host.nofile, true).value_or(0);
  info.nproc = highest_accepted(info.program, host.nproc, false).value_or(0);
}

std::string runtime_version(const fs::path& program) {
  ProcessResult result = run_process({program.string(), "--version"});
  auto lines = split(result.out, '\n');
  return lines.empty() ? std::string() : std::string(trim(lines[0]));
}

json cache_key(const RuntimeInfo& info, const HostLimits& host) {
  return {{"program", info.program.string()}, {"version", info.version}, {"host_nofile", host.nofile},
          {"host_nproc", host.nproc}, {"euid", ::geteuid()}, {"user_namespace", in_user_namespace()}};
}

std::optional<RuntimeInfo> load_cached(const fs::path& store_dir, const std::string& name, const HostLimits& host) {
  fs::path file = store_dir / probe_file_name;
  std::error_code error;
  if (store_dir.empty() || !fs::exists(file, error)) return std::nullopt;
  try {
    json cached = json::parse(read_file(file));
    if (!cached.contains(name)) return std::nullopt;
    const json& entry = cached[name];
    RuntimeInfo info{entry.at("name"), entry.at("key").at("program").get<std::string>(), entry.at("key").at("version"),
                     entry.at("nofile"), entry.at("nproc")};
    if (!fs::exists(info.program)) return std::nullopt;
    RuntimeInfo current;
    current.program = info.program;
    current.version = runtime_version(info.program);
    if (entry.at("key") != cache_key(current, host)) return std::nullopt;
    return info;
  } catch (const std::exception& error_in_file) {
    log::debug(cat("ignoring ", file, ": ", error_in_file.what()));
    return std::nullopt;
  }
}

void save_cached(const fs::path& store_dir, const std::string& name, const RuntimeInfo& info, const HostLimits& host) {
  if (store_dir.empty()) return;
  fs::path file = store_dir / probe_file_name;
  json cached = json::object();
  try {
    if (fs::exists(file)) cached = json::parse(read_file(file));
  } catch (const std::exception&) {
    cached = json::object();
  }
  cached[name] = {{"name", info.name}, {"key", cache_key(info, host)}, {"nofile", info.nofile}, {"nproc", info.nproc}};
  fs::create_directories(store_dir);
  write_file_atomic(file, cached.dump(2) + "\n");
}

RuntimeInfo select_runtime(const std::string& name) {
  std::vector<std::string> names = name == "auto" ? std::vector<std::string>{"runc", "crun"}
                                                  : std::vector<std::string>{name};
  std::vector<std::string> failures;
  for (const auto& candidate : names) {
    auto program = find_program(candidate);
    if (!program) {
      failures.push_back(cat(candidate, ": not found in PATH"));
      continue;
    }
    std::string error = trial_start(*program, std::nullopt, std::nullopt);
    if (error.empty()) return {candidate, *program, runtime_version(*program), 0, 0};
    failures.push_back(cat(candidate, ": a trial container failed: ", error));
  }
  fail("no usable container runtime for ", quote(name), " (", join(failures, "; "),
       "): install runc (apt-get install runc) or pick one with --runtime");
}

}  // namespace

RuntimeInfo probe_runtime(const std::string& name, const fs::path& store_dir) {
  if (name != "auto" && name != "runc" && name != "crun")
    fail("unknown container runtime ", quote(name), ": use runc, crun or auto");

  static std::mutex mutex;
  static std::map<std::string, RuntimeInfo> probed;
  static std::set<std::pair<fs::path, std::string>> stored;  // (store dir, name) known to hold the result
  std::lock_guard lock(mutex);

  HostLimits host = host_limits();
  std::optional<RuntimeInfo> info;
  if (auto it = probed.find(name); it != probed.end()) info = it->second;
  if (!info && (info = load_cached(store_dir, name, host))) stored.emplace(store_dir, name);
  if (!info) {
    info = select_runtime(name);
    probe_limits(*info, host);
    log::debug(cat("runtime ", info->name, " (", info->version, ") accepts RLIMIT_NOFILE=", info->nofile,
                   " RLIMIT_NPROC=", info->nproc));
  }
  probed[name] = *info;

  if (!store_dir.empty() && stored.emplace(store_dir, name).second) save_cached(store_dir, name, *info, host);
  return *info;
}

}  // namespace imgbuild::exec
