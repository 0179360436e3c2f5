// SPDX-License-Identifier: Apache-2.0
// The busybox build run by a user without root, compared with the same build
// run as root. The test user exists only in a private mount namespace. A
// copy of /etc with its passwd, group, subuid and subgid lines is mounted
// over /etc there, so the host's accounts stay untouched while newuidmap,
// which reads /etc/subuid, finds the user's ranges.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <csignal>
#include <sys/stat.h>
#include <thread>

#include "e2e/busybox_recipe.hpp"
#include "e2e/e2e_support.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

constexpr int test_uid = 64123;
const std::string test_user = "imgbuild-rootless";

// A project directory owned by the test user: recipe, context, store, HOME
// and TMPDIR all inside it.
struct RootlessProject {
  TempDir dir{"e2e-rootless-"};
  fs::path recipe = dir / "recipe.toml";

  explicit RootlessProject(const std::string& text) {
    make_busybox_rootfs(dir / "context/rootfs");
    write(recipe, text);
    fs::create_directories(dir / "home");
    fs::create_directories(dir / "tmp");
    run_checked({"chown", "-R", cat(test_uid, ":", test_uid), dir.path().string()});
  }

  // Copies /etc and adds the test user, with `subids` as its /etc/subuid and
  // /etc/subgid lines (empty: no ranges).
  fs::path make_etc(const std::string& subids) {
    fs::path etc = dir / "etc";
    run_checked({"cp", "-a", "/etc", etc.string()});
    auto append = [&](const char* name, const std::string& line) {
      write(etc / name, read_file(etc / name) + line);
    };
    append("passwd", cat(test_user, ":x:", test_uid, ":", test_uid, "::", (dir / "home").string(), ":/bin/sh\n"));
    append("group", cat(test_user, ":x:", test_uid, ":\n"));
    write(etc / "subuid", subids);
    write(etc / "subgid", subids);
    return etc;
  }

  // The command that runs `imgbuild build` as the test user. unshare, sh,
  // setpriv and env each exec the next, so its PID is imgbuild's.
  std::vector<std::string> command_as_user(const std::string& subids, const std::vector<std::string>& extra) {
    fs::path etc = make_etc(subids);
    std::string command = cat("mount --bind ", quote(etc.string()), " /etc && exec setpriv --reuid ", test_uid,
                              " --regid ", test_uid, " --clear-groups --inh-caps=-all -- env HOME=",
                              quote((dir / "home").string()), " TMPDIR=", quote((dir / "tmp").string()), " \"$@\"");
    std::vector<std::string> argv = {"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", command,
                                     "sh", imgbuild_binary().string(), "build", recipe.string(),
                                     "--store", (dir / "store").string(), "--progress", "plain"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  ProcessResult build_as_user(const std::string& subids, const std::vector<std::string>& extra) {
    return run_process(command_as_user(subids, extra));
  }
};

std::string manifest_digest(const fs::path& metadata) {
  return nlohmann::json::parse(read_file(metadata))["containerimage.digest"].get<std::string>();
}

bool tools_present() {
  for (const char* tool : {"unshare", "setpriv", "newuidmap", "newgidmap"})
    if (!find_program(tool)) {
      WARN(cat("skipped: needs ", tool));
      return false;
    }
  return true;
}

}  // namespace

TEST_CASE("e2e: rootless build matches root build", "[e2e]") {
  if (!is_root() || !tools_present()) return;

  // The reference: the same recipe built as root.
  TempDir reference("e2e-root-");
  make_busybox_rootfs(reference / "context/rootfs");
  write(reference / "recipe.toml", busybox_recipe);
  auto as_root = run_imgbuild({"build", (reference / "recipe.toml").string(), "--store", (reference / "store").string(),
                               "--progress", "plain", "--metadata-file", (reference / "metadata.json").string()});
  INFO(as_root.err);
  REQUIRE(as_root.exit_code == 0);

  RootlessProject project(busybox_recipe);
  fs::path metadata = project.dir / "metadata.json";
  auto rootless = project.build_as_user(cat(test_user, ":200000:65536\n"),
                                        {"--metadata-file", metadata.string(), "--output",
                                         "oci:" + (project.dir / "layout").string() + ":1.0"});
  INFO(rootless.out + rootless.err);
  REQUIRE(rootless.exit_code == 0);
  CHECK(rootless.err.find("only your own uid") == std::string::npos);
  CHECK(count_steps(rootless.err).built >= 6);

  // Same layers, config and manifest, byte for byte.
  CHECK(manifest_digest(metadata) == manifest_digest(reference / "metadata.json"));

  // The store belongs to the user, not to root.
  struct stat info{};
  REQUIRE(::stat((project.dir / "store").c_str(), &info) == 0);
  CHECK(info.st_uid == static_cast<uid_t>(test_uid));

  // The steps' mounts lived in the build's own namespace, and it left no
  // temporary files.
  CHECK(mounts_under(project.dir.path()).empty());
  CHECK(fs::is_empty(project.dir / "tmp"));

  // A second run as the same user runs no step.
  auto again = project.build_as_user(cat(test_user, ":200000:65536\n"), {});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(count_steps(again.err).built == 0);
}

TEST_CASE("e2e: rootless build without subordinate ids", "[e2e]") {
  if (!is_root() || !tools_present()) return;
  const std::string recipe = R"(
[image]
name = "localhost/rootless"

[context]
dir = "context"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "only"
base = "scratch"

[[stage.step]]
copy = "rootfs"
to = "/"

[[stage.step]]
run = "mkdir -p /data && echo made > /data/file && rm /etc/group"
)";
  RootlessProject project(recipe);
  auto result = project.build_as_user("", {"--output", "oci:" + (project.dir / "layout").string() + ":1"});
  INFO(result.out + result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("only your own uid and gid mapped"));
  CHECK_THAT(result.err, Catch::Contains("add the line '" + test_user + ":100000:65536' to /etc/subuid"));

  // The layer of the run step contains the new file and the whiteout.
  auto unpack = run_process({"umoci", "unpack", "--image", (project.dir / "layout").string() + ":1",
                             (project.dir / "bundle").string()});
  INFO(unpack.err);
  REQUIRE(unpack.exit_code == 0);
  CHECK(read_file(project.dir / "bundle/rootfs/data/file") == "made\n");
  CHECK_FALSE(fs::exists(project.dir / "bundle/rootfs/etc/group"));
  CHECK(fs::exists(project.dir / "bundle/rootfs/etc/passwd"));
}

TEST_CASE("e2e: rootless step as an unmapped user names the fix", "[e2e]") {
  if (!is_root() || !tools_present()) return;
  RootlessProject project(std::string(busybox_recipe) + R"(
[[stage]]
name = "as-user"
base = "base"

[[stage.step]]
user = "someone"

[[stage.step]]
run = "id -u > /tmp/uid"
)");
  auto result = project.build_as_user("", {"--target", "as-user"});
  INFO(result.out + result.err);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("runs as uid 1000, which is not mapped in imgbuild's user namespace"));
  CHECK_THAT(result.err, Catch::Contains("add the line '" + test_user + ":100000:65536' to /etc/subuid"));
}

TEST_CASE("e2e: rootless build stops when its outer process dies", "[e2e]") {
  if (!is_root() || !tools_present()) return;
  RootlessProject project(std::string(busybox_recipe) + R"(
[[stage]]
name = "slow"
base = "base"

[[stage.step]]
run = "echo started; sleep 48"
)");
  BackgroundProcess build(project.command_as_user(cat(test_user, ":200000:65536\n"), {"--target", "slow"}),
                          project.dir / "build.log");
  bool started = wait_for_log(project.dir / "build.log", "started", 60);
  INFO(read_file(project.dir / "build.log"));
  REQUIRE(started);

  // SIGKILL cannot be relayed; the inner process gets SIGTERM as its parent dies.
  ::kill(build.pid(), SIGKILL);
  bool sleep_ended = false;
  for (int i = 0; i < 300 && !sleep_ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sleep_ended = trim(run_process({"sh", "-c", "ps -eo args | grep -c '[s]leep 48' || true"}).out) == "0";
  }
  CHECK(sleep_ended);
  wait_for_log(project.dir / "build.log", "interrupted", 5);
  CHECK_THAT(read_file(project.dir / "build.log"), Catch::Contains("imgbuild: interrupted by SIGTERM"));
  CHECK(fs::is_empty(project.dir / "tmp"));
}
