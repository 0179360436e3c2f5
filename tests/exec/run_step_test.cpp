// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/exec/runtime.hpp"
#include "imgbuild/layer/scan.hpp"
#include "imgbuild/recipe/recipe.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "exec/step_fixture.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::exec;
using imgbuild::test::list_tree;
using imgbuild::test::write;

namespace {

std::string xattr(const fs::path& path, const char* name) {
  char value[64];
  ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return size > 0 ? std::string(value, static_cast<std::size_t>(size)) : std::string();
}


char entry_kind(const layer::Entry& entry) {
  switch (entry.type) {
    case layer::EntryType::directory: return 'd';
    case layer::EntryType::symlink: return 'l';
    case layer::EntryType::regular: return 'f';
    default: return '?';
  }
}

}  // namespace

TEST_CASE("exec: step changes land in upper dir", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path layer = fixture.dir / "layer1";
  write(layer / "data/keep/a", "a\n");
  write(layer / "data/gone.txt", "gone\n");
  write(layer / "data/modify.txt", "one\n");
  write(layer / "data/dir-gone/x", "x\n");
  write(layer / "data/replace/old1", "old\n");

  RunRequest request = fixture.request({fixture.base, layer},
                                       "set -e\n"
                                       "mkdir /new && echo hi > /new/file\n"
                                       "echo two >> /data/modify.txt\n"
                                       "rm /data/gone.txt\n"
                                       "rm -r /data/dir-gone\n"
                                       "rm -r /data/replace && mkdir /data/replace && echo n > /data/replace/new1\n"
                                       "ln -s keep/a /data/link\n"
                                       "chmod 0700 /data/keep\n");
  StepResult result = run_step(request);
  INFO(join(result.last_lines, "\n"));
  REQUIRE(result.runtime_error.empty());
  REQUIRE(result.exit_code == 0);

  std::vector<std::string> expected = {
      "c 0000 0:0 data/dir-gone 0:0",
      "c 0000 0:0 data/gone.txt 0:0",
      "d 0700 0:0 data/keep/",
      "d 0755 0:0 data/",
      "d 0755 0:0 data/replace/",
      "d 0755 0:0 new/",
      "f 0644 0:0 2 data/replace/new1",
      "f 0644 0:0 3 new/file",
      "f 0644 0:0 8 data/modify.txt",
      "l 0:0 data/link -> keep/a",
  };
  CHECK(list_tree(result.upper_dir) == expected);
  CHECK(xattr(result.upper_dir / "data/replace", "trusted.overlay.opaque") == "y");
  CHECK(xattr(result.upper_dir / "data", "trusted.overlay.opaque").empty());
  CHECK(xattr(result.upper_dir / "new", "trusted.overlay.opaque").empty());
  CHECK(read_file(result.upper_dir / "data/modify.txt") == "one\ntwo\n");

  std::vector<std::string> changes;
  for (const auto& entry : layer::changes_from_overlay_upper(result.upper_dir))
    changes.push_back(cat(entry_kind(entry), " ", entry.path));
  std::vector<std::string> expected_changes = {
      "d data",
      "f data/.wh.dir-gone",
      "f data/.wh.gone.txt",
      "d data/keep",
      "l data/link",
      "f data/modify.txt",
      "d data/replace",
      "f data/replace/.wh..wh..opq",
      "f data/replace/new1",
      "d new",
      "f new/file",
  };
  CHECK(changes == expected_changes);
}

TEST_CASE("exec: named user, workdir and env", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path layer = fixture.dir / "groups";
  write(layer / "etc/group", "root:x:0:\nsomeone:x:1000:\nstaff:x:50:someone\nnogroup:x:65534:\n");

  RunRequest request = fixture.request({fixture.base, layer},
                                       "id -u; id -g; id -G; pwd; echo \"$HOME\"; echo \"$GREETING\"; hostname;"
                                       "touch /home/someone/made-by-step");
  request.user = "someone";
  request.workdir = "/srv/app";
  request.env.push_back("GREETING=hello there");
  StepResult result = run_step(request);
  INFO(join(result.last_lines, "\n"));
  REQUIRE(result.exit_code == 0);

  std::vector<std::string> expected = {"1000", "1000", "1000 50", "/srv/app", "/home/someone", "hello there",
                                       "builder"};
  CHECK(result.last_lines == expected);
  auto tree = list_tree(result.upper_dir);
  CHECK(std::count(tree.begin(), tree.end(), "d 0755 0:0 srv/app/") == 1);
  CHECK(std::count(tree.begin(), tree.end(), "f 0644 1000:1000 0 home/someone/made-by-step") == 1);
}

TEST_CASE("exec: explicit group drops supplementary groups", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path layer = fixture.dir / "groups";
  write(layer / "etc/group", "root:x:0:\nsomeone:x:1000:\nstaff:x:50:someone\n");

  RunRequest request = fixture.request({fixture.base, layer}, "id -u; id -g; id -G");
  request.user = "someone:staff";
  StepResult result = run_step(request);
  REQUIRE(result.exit_code == 0);
  CHECK(result.last_lines == std::vector<std::string>{"1000", "50", "50"});
}

TEST_CASE("exec: unknown user is an error", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  RunRequest request = fixture.request({fixture.base}, "true");
  request.user = "ghost";
  CHECK_THROWS_WITH(run_step(request), Catch::Contains("ghost"));
  CHECK(test::entries_of(request.scratch_dir / "upper").empty());
}

TEST_CASE("exec: network none has only loopback", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  std::string script = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '";

  RunRequest none = fixture.request({fixture.base}, script + "; cat /sys/class/net/lo/flags");
  none.network = Network::none;
  StepResult isolated = run_step(none);
  REQUIRE(isolated.exit_code == 0);
  // 0x9 is IFF_UP | IFF_LOOPBACK: the runtime brings the loopback up.
  CHECK(isolated.last_lines == std::vector<std::string>{"lo", "0x9"});

  RunRequest host = fixture.request({fixture.base}, script);
  StepResult shared = run_step(host);
  REQUIRE(shared.exit_code == 0);
  CHECK(shared.last_lines.size() > 1);
}

TEST_CASE("exec: secrets are read-only and leave no trace", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path secret = fixture.dir / "token.txt";
  write(secret, "s3cret-value", 0600);

  RunRequest request = fixture.request({fixture.base},
                                       "cat /run/secrets/token; echo;"
                                       "stat -c '%a %u:%g' /run/secrets/token;"
                                       "(echo x > /run/secrets/token) 2>/dev/null && echo writable || echo read-only;"
                                       "cat /etc/other-place");
  request.secrets.push_back({"token", secret, "", 0, 0, 0400});
  request.secrets.push_back({"other", secret, "/etc/other-place", 0, 0, 0444});
  StepResult result = run_step(request);
  INFO(join(result.last_lines, "\n"));
  REQUIRE(result.exit_code == 0);

  std::vector<std::string> expected = {"s3cret-value", "400 0:0", "read-only", "s3cret-value"};
  CHECK(result.last_lines == expected);
  CHECK(list_tree(result.upper_dir).empty());
  CHECK(read_file(secret) == "s3cret-value");
}

TEST_CASE("exec: cache mount persists outside upper", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path cache = fixture.dir / "cache-dir";
  std::string script = "echo run >> /var/cache/build/count; wc -l < /var/cache/build/count";

  for (std::string expected : {"1", "2"}) {
    RunRequest request = fixture.request({fixture.base}, script);
    request.caches.push_back({cache, "/var/cache/build"});
    StepResult result = run_step(request);
    INFO(join(result.last_lines, "\n"));
    REQUIRE(result.exit_code == 0);
    CHECK(result.last_lines == std::vector<std::string>{expected});
    CHECK(list_tree(result.upper_dir).empty());
  }
  CHECK(read_file(cache / "count") == "run\nrun\n");
}

TEST_CASE("exec: failing step returns exit code", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  std::vector<std::string> seen;
  // stdout and stderr are separate pipes, so only the pause orders "two".
  RunRequest request = fixture.request({fixture.base}, "echo one; echo two >&2; sleep 0.3; echo three; echo four; exit 3");
  request.tail_lines = 2;
  request.on_output = [&](std::string_view line, Stream) { seen.emplace_back(line); };
  StepResult result = run_step(request);

  CHECK(result.exit_code == 3);
  CHECK(result.runtime_error.empty());
  CHECK_FALSE(result.cancelled);
  CHECK(result.last_lines == std::vector<std::string>{"three", "four"});
  CHECK(seen.size() == 4);
  CHECK(std::count(seen.begin(), seen.end(), "[test/step] one") == 1);
  CHECK(std::count(seen.begin(), seen.end(), "[test/step] two") == 1);
  CHECK(seen.back() == "[test/step] four");
  CHECK(result.duration.count() > 0);
}

TEST_CASE("exec: missing program is a runtime error", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  RunRequest request = fixture.request({fixture.base}, "");
  request.argv = {"/no/such/program"};
  StepResult result = run_step(request);
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.runtime_error, Catch::Contains("/no/such/program"));
}

TEST_CASE("exec: rlimits come from the probe", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  fs::path store = fixture.dir / "store";
  RuntimeInfo runtime = probe_runtime("auto", store);
  REQUIRE(runtime.nofile > 0);
  REQUIRE(runtime.nproc > 0);
  CHECK(!runtime.version.empty());

  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_max != RLIM_INFINITY) CHECK(runtime.nofile <= nofile.rlim_max);

  auto cached = nlohmann::json::parse(read_file(store / "runtime-probe.json"));
  CHECK(cached["auto"]["nofile"] == runtime.nofile);
  CHECK(cached["auto"]["nproc"] == runtime.nproc);
  CHECK(cached["auto"]["name"] == runtime.name);

  RunRequest request = fixture.request({fixture.base}, "ulimit -n; ulimit -u");
  request.store_dir = store;
  StepResult result = run_step(request);
  INFO(result.runtime_error);
  REQUIRE(result.exit_code == 0);
  CHECK(result.last_lines == std::vector<std::string>{std::to_string(runtime.nofile), std::to_string(runtime.nproc)});
}

TEST_CASE("exec: host proxy variables reach the step", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  ::setenv("https_proxy", "http://127.0.0.1:3128", 1);
  ::setenv("NO_PROXY", "localhost", 1);
  std::vector<std::string> proxies = host_proxy_env();
  CHECK(std::count(proxies.begin(), proxies.end(), "https_proxy=http://127.0.0.1:3128") == 1);
  CHECK(std::count(proxies.begin(), proxies.end(), "NO_PROXY=localhost") == 1);

  std::string script = "echo \"[$https_proxy][$NO_PROXY]\"";
  RunRequest with_proxy = fixture.request({fixture.base}, script);
  StepResult passed = run_step(with_proxy);
  RunRequest without_proxy = fixture.request({fixture.base}, script);
  without_proxy.pass_proxy_env = false;
  StepResult withheld = run_step(without_proxy);
  RunRequest overridden = fixture.request({fixture.base}, script);
  overridden.env.push_back("https_proxy=http://127.0.0.1:8080");
  StepResult own = run_step(overridden);
  ::unsetenv("https_proxy");
  ::unsetenv("NO_PROXY");

  CHECK(passed.last_lines == std::vector<std::string>{"[http://127.0.0.1:3128][localhost]"});
  CHECK(withheld.last_lines == std::vector<std::string>{"[][]"});
  CHECK(own.last_lines == std::vector<std::string>{"[http://127.0.0.1:8080][localhost]"});
}

TEST_CASE("exec: volatile files stay out of the changeset", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  RunRequest request = fixture.request({fixture.base},
                                       "mkdir -p /var/log/apt /var/lib/dpkg /var/cache/debconf;"
                                       "date > /var/log/dpkg.log; date > /var/log/apt/history.log;"
                                       "echo s > /var/lib/dpkg/status; echo o > /var/lib/dpkg/status-old;"
                                       "echo c > /var/cache/debconf/config.dat-old; echo k > /var/log/kept.log");
  StepResult result = run_step(request);
  REQUIRE(result.exit_code == 0);

  layer::ScanOptions options;
  options.exclude = recipe::default_volatile_paths();
  std::vector<std::string> paths;
  for (const auto& entry : layer::changes_from_overlay_upper(result.upper_dir, options)) paths.push_back(entry.path);
  std::vector<std::string> expected = {"var",           "var/cache",     "var/cache/debconf", "var/lib",
                                       "var/lib/dpkg",  "var/lib/dpkg/status", "var/log",   "var/log/apt",
                                       "var/log/kept.log"};
  CHECK(paths == expected);
}
