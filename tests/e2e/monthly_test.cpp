// SPDX-License-Identifier: Apache-2.0
// The monthly rebuild: its script on a small recipe, and its systemd units
// and cron line checked without a running systemd.
#include <catch2/catch.hpp>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

const char* recipe = R"(
[image]
name = "localhost/monthly"

[context]
dir = "context"

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
copy = "rootfs"
to = "/"
)";

ProcessResult monthly(const std::filesystem::path& dir) {
  ProcessOptions options;
  options.extra_env = {"IMGBUILD=" + imgbuild_binary().string(), "IMGBUILD_STORE=" + (dir / "store").string()};
  return run_process({(source_dir() / "scripts/monthly-rebuild.sh").string(), (dir / "recipe.toml").string(),
                      "none", (dir / "reports").string()},
                     options);
}

}  // namespace

TEST_CASE("e2e: monthly rebuild keeps reports", "[e2e]") {
  TempDir dir("monthly-");
  make_busybox_rootfs(dir / "context/rootfs");
  write(dir / "recipe.toml", recipe);

  auto first = monthly(dir.path());
  INFO(first.out + first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("monthly-rebuild: success") != std::string::npos);
  CHECK(first.out.find("--no-cache") == std::string::npos);  // the command line is not echoed
  CHECK(std::filesystem::is_symlink(dir / "reports/latest.json"));
  CHECK(read_file(dir / "reports/latest.json").find("\"schema\"") != std::string::npos);

  SECTION("a policy violation exits 3 with the reason") {
    write(dir / "recipe.toml", std::string(recipe) + "\n[policy]\nrequire_healthcheck = true\n");
    auto failed = monthly(dir.path());
    CHECK(failed.exit_code == 3);
    CHECK(failed.err.find("violates the recipe's policy (exit 3), nothing was pushed") != std::string::npos);
  }
}

TEST_CASE("e2e: monthly units verify", "[e2e]") {
  if (!find_program("systemd-analyze")) FAIL("systemd-analyze is missing: scripts/install-deps.sh installs systemd");
  TempDir dir("units-");
  // The units name the install location; point them at this checkout.
  for (const char* unit : {"imgbuild-monthly.service", "imgbuild-monthly.timer"}) {
    std::string text = read_file(source_dir() / "scripts/monthly" / unit);
    for (std::size_t at; (at = text.find("/opt/imgbuild")) != std::string::npos;)
      text.replace(at, 13, source_dir().string());
    write(dir / unit, text);
  }
  auto verify = run_process({"systemd-analyze", "verify", (dir / "imgbuild-monthly.service").string(),
                             (dir / "imgbuild-monthly.timer").string()});
  INFO(verify.out + verify.err);
  CHECK(verify.exit_code == 0);
  auto calendar = run_process({"systemd-analyze", "calendar", "*-*-01 03:00:00"});
  CHECK(calendar.exit_code == 0);

  // The cron line: five time fields matching the timer, a user, a command.
  std::string cron;
  for (const auto& line : split(read_file(source_dir() / "scripts/monthly/imgbuild-monthly.cron"), '\n'))
    if (!line.empty() && line[0] != '#') cron = line;
  auto fields = split(cron, ' ');
  REQUIRE(fields.size() > 7);
  CHECK(std::vector<std::string>(fields.begin(), fields.begin() + 6) ==
        std::vector<std::string>{"0", "3", "1", "*", "*", "root"});
  CHECK(cron.find("/opt/imgbuild/scripts/monthly-rebuild.sh") != std::string::npos);
}
