// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include "exec/rootless.hpp"
#include "exec/spec.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::exec;
using nlohmann::json;

namespace {

std::vector<std::string> namespace_types(const json& spec) {
  std::vector<std::string> types;
  for (const auto& entry : spec["linux"]["namespaces"]) types.push_back(entry["type"]);
  return types;
}

const json& mount_at(const json& spec, const std::string& destination) {
  for (const auto& mount : spec["mounts"])
    if (mount["destination"] == destination) return mount;
  FAIL("no mount at " << destination);
  throw std::logic_error("unreachable");
}

SpecInput sample_input() {
  SpecInput input;
  input.args = {"/bin/sh", "-c", "true"};
  input.env = {"SOURCE_DATE_EPOCH=0"};
  input.cwd = "/src";
  input.uid = 1000;
  input.gid = 1000;
  input.additional_gids = {50};
  input.hostname = "builder";
  input.nofile = 20000;
  input.nproc = 32768;
  input.binds = {{"/host/secret", "/run/secrets/token", true}, {"/host/cache", "/var/cache/apt", false}};
  return input;
}

}  // namespace

TEST_CASE("exec: spec has Docker's process settings", "[exec]") {
  json spec = make_runtime_spec(sample_input());
  const json& process = spec["process"];
  CHECK(process["terminal"] == false);
  CHECK(process["args"] == json({"/bin/sh", "-c", "true"}));
  CHECK(process["cwd"] == "/src");
  CHECK(process["user"] == json({{"uid", 1000}, {"gid", 1000}, {"additionalGids", {50}}}));
  CHECK(process["noNewPrivileges"] == false);

  json capabilities = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
                       "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
                       "CAP_NET_BIND_SERVICE",           "CAP_SYS_CHROOT", "CAP_KILL",   "CAP_AUDIT_WRITE"};
  CHECK(process["capabilities"]["bounding"] == capabilities);
  CHECK(process["capabilities"]["effective"] == capabilities);
  CHECK(process["capabilities"]["permitted"] == capabilities);
  CHECK_FALSE(process["capabilities"].contains("inheritable"));
  CHECK_FALSE(process["capabilities"].contains("ambient"));

  json rlimits = {{{"type", "RLIMIT_NOFILE"}, {"hard", 20000}, {"soft", 20000}},
                  {{"type", "RLIMIT_NPROC"}, {"hard", 32768}, {"soft", 32768}}};
  CHECK(process["rlimits"] == rlimits);
  CHECK(spec["hostname"] == "builder");
  CHECK(spec["root"] == json({{"path", "rootfs"}, {"readonly", false}}));
}

TEST_CASE("exec: spec mounts and namespaces", "[exec]") {
  SpecInput input = sample_input();
  json host = make_runtime_spec(input);
  CHECK(namespace_types(host) == std::vector<std::string>{"pid", "ipc", "uts", "mount"});

  input.network_none = true;
  json none = make_runtime_spec(input);
  CHECK(namespace_types(none) == std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"});

  std::vector<std::string> destinations;
  for (const auto& mount : none["mounts"]) destinations.push_back(mount["destination"]);
  std::vector<std::string> expected = {"/proc",      "/dev",     "/dev/pts",           "/dev/shm",
                                       "/dev/mqueue", "/sys",    "/run/secrets/token", "/var/cache/apt"};
  CHECK(destinations == expected);
  CHECK(mount_at(none, "/dev")["options"] == json({"nosuid", "strictatime", "mode=755", "size=65536k"}));
  CHECK(mount_at(none, "/dev/pts")["options"] ==
        json({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  CHECK(mount_at(none, "/sys")["type"] == "sysfs");
  CHECK(mount_at(none, "/sys")["options"] == json({"nosuid", "noexec", "nodev", "ro"}));
  CHECK(mount_at(none, "/run/secrets/token")["options"] == json({"rbind", "nosuid", "nodev", "ro"}));
  CHECK(mount_at(none, "/var/cache/apt")["options"] == json({"rbind", "nosuid", "nodev", "rw"}));
  CHECK(mount_at(none, "/var/cache/apt")["source"] == "/host/cache");

  CHECK(none["linux"]["readonlyPaths"] ==
        json({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
  CHECK(none["linux"]["maskedPaths"].size() == 11);
  CHECK(none["linux"]["resources"]["devices"] == json({{{"allow", false}, {"access", "rwm"}}}));
  CHECK_FALSE(none["linux"].contains("cgroupsPath"));
  CHECK_FALSE(none["linux"].contains("seccomp"));
}

TEST_CASE("exec: spec inside a user namespace", "[exec]") {
  SpecInput input = sample_input();
  input.in_user_namespace = true;
  json spec = make_runtime_spec(input);

  // imgbuild already runs in the namespace: the step gets no second one.
  CHECK(namespace_types(spec) == std::vector<std::string>{"pid", "ipc", "uts", "mount"});
  CHECK_FALSE(spec["linux"].contains("uidMappings"));
  CHECK_FALSE(spec["linux"].contains("resources"));
  CHECK(mount_at(spec, "/sys")["type"] == "none");
  CHECK(mount_at(spec, "/sys")["options"] == json({"rbind", "nosuid", "noexec", "nodev", "ro"}));
  CHECK(mount_at(spec, "/dev/pts")["options"] ==
        json({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
}

TEST_CASE("exec: subordinate ranges by name or uid", "[exec]") {
  std::string content = "# comment\nalice:100000:65536\n1001:200000:1000\nbroken:line\nzero:300000:0\n";
  auto alice = find_subordinate_range(content, "alice", 1000);
  REQUIRE(alice);
  CHECK(alice->start == 100000);
  CHECK(alice->count == 65536);

  auto by_uid = find_subordinate_range(content, "bob", 1001);
  REQUIRE(by_uid);
  CHECK(by_uid->start == 200000);
  CHECK(by_uid->count == 1000);

  CHECK_FALSE(find_subordinate_range(content, "zero", 4000));
  CHECK_FALSE(find_subordinate_range(content, "carol", 4001));
}

TEST_CASE("exec: missing subordinate ids map root only", "[exec]") {
  TempDir dir("exec-subid-");
  test::write(dir / "subuid", "other:100000:65536\n");
  test::write(dir / "subgid", "other:100000:65536\n");
  passwd* entry = ::getpwuid(::geteuid());
  std::string name = entry ? entry->pw_name : std::to_string(::geteuid());
  auto uid = static_cast<std::uint32_t>(::geteuid());

  RootlessIds ids = rootless_id_mappings(dir / "subuid", dir / "subgid");
  CHECK_FALSE(ids.subordinate);
  REQUIRE(ids.uid_mappings.size() == 1);
  CHECK(ids.uid_mappings[0].inner == 0);
  CHECK(ids.uid_mappings[0].outer == uid);
  CHECK(ids.uid_mappings[0].size == 1);
  CHECK_THAT(ids.limitation, Catch::Contains("add the line '" + name + ":100000:65536' to " + (dir / "subuid").string()));
}

TEST_CASE("exec: subordinate ids follow root", "[exec]") {
  TempDir dir("exec-subid-");
  auto uid = static_cast<std::uint32_t>(::geteuid());
  test::write(dir / "subuid", cat(uid, ":200000:65536\n"));
  test::write(dir / "subgid", cat(uid, ":300000:1000\n"));

  RootlessIds ids = rootless_id_mappings(dir / "subuid", dir / "subgid");
  REQUIRE(find_program("newuidmap"));
  CHECK(ids.subordinate);
  CHECK(ids.limitation.empty());
  REQUIRE(ids.uid_mappings.size() == 2);
  CHECK(ids.uid_mappings[1].inner == 1);
  CHECK(ids.uid_mappings[1].outer == 200000);
  CHECK(ids.uid_mappings[1].size == 65536);
  REQUIRE(ids.gid_mappings.size() == 2);
  CHECK(ids.gid_mappings[1].outer == 300000);
  CHECK(ids.gid_mappings[1].size == 1000);
}
