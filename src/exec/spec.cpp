// SPDX-License-Identifier: Apache-2.0
#include "exec/spec.hpp"

namespace imgbuild::exec {
namespace {

using nlohmann::json;

json mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

json standard_mounts(bool rootless) {
  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));

  // A user namespace cannot use the host's tty group (gid 5) unless it is mapped.
  std::vector<std::string> pts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!rootless) pts.push_back("gid=5");
  mounts.push_back(mount("/dev/pts", "devpts", "devpts", pts));

  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));

  // Mounting sysfs needs a network namespace owned by the mounting user;
  // in a user namespace steps bind the host's /sys read-only instead, as
  // `runc spec --rootless` does.
  if (rootless)
    mounts.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  else
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  return mounts;
}

json process_section(const SpecInput& input) {
  json capabilities = default_capabilities();
  json process = {
      {"terminal", false},
      {"user", {{"uid", input.uid}, {"gid", input.gid}}},
      {"args", input.args},
      {"env", input.env},
      {"cwd", input.cwd},
      {"capabilities",
       {{"bounding", capabilities}, {"effective", capabilities}, {"permitted", capabilities}}},
      {"noNewPrivileges", input.no_new_privileges},
  };
  if (!input.additional_gids.empty()) process["user"]["additionalGids"] = input.additional_gids;

  json rlimits = json::array();
  if (input.nofile) rlimits.push_back({{"type", "RLIMIT_NOFILE"}, {"hard", *input.nofile}, {"soft", *input.nofile}});
  if (input.nproc) rlimits.push_back({{"type", "RLIMIT_NPROC"}, {"hard", *input.nproc}, {"soft", *input.nproc}});
  if (!rlimits.empty()) process["rlimits"] = rlimits;
  return process;
}

json linux_section(const SpecInput& input, bool rootless) {
  json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (input.network_none) namespaces.push_back({{"type", "network"}});

  json linux_json = {
      {"namespaces", namespaces},
      {"maskedPaths",
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  // Deny every device; runc adds its default allow list (null, zero, full,
  // tty, random, urandom, the pty devices) on top. A user namespace has no
  // cgroup to write the rules to; runc binds those devices from the host.
  if (!rootless) linux_json["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  return linux_json;
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> capabilities = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",          "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE",           "CAP_SYS_CHROOT", "CAP_KILL",          "CAP_AUDIT_WRITE"};
  return capabilities;
}

json make_runtime_spec(const SpecInput& input) {
  bool rootless = input.in_user_namespace;
  json mounts = standard_mounts(rootless);
  for (const auto& bind : input.binds) {
    std::vector<std::string> options = {"rbind", "nosuid", "nodev"};
    options.push_back(bind.read_only ? "ro" : "rw");
    mounts.push_back(mount(bind.destination, "bind", bind.source.string(), options));
  }

  return {
      {"ociVersion", "1.0.2"},
      {"process", process_section(input)},
      {"root", {{"path", input.root_path}, {"readonly", input.root_read_only}}},
      {"hostname", input.hostname},
      {"mounts", mounts},
      {"linux", linux_section(input, rootless)},
  };
}

}  // namespace imgbuild::exec
