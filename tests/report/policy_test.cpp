// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/report/policy.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/fixtures.hpp"

using namespace imgbuild;
using namespace imgbuild::report;

namespace {

std::string stanza(const std::string& name, const std::string& version) {
  return cat("Package: ", name, "\nStatus: install ok installed\nVersion: ", version, "\nArchitecture: amd64\n\n");
}

const std::string base_status = stanza("base-files", "12.4+deb12u5") + stanza("libc6", "2.36-9+deb12u4");
const std::string toolchain = stanza("binutils", "2.40-2") + stanza("build-essential", "12.9") +
                              stanza("gcc", "4:12.2.0-3") + stanza("gcc-12", "12.2.0-14") +
                              stanza("libc6-dev", "2.36-9+deb12u4");

Policy no_toolchain() {
  Policy policy;
  for (const char* pattern : {"gcc*", "binutils*", "build-essential", "*-dev"})
    policy.forbidden_packages.push_back({Ecosystem::deb, pattern});
  return policy;
}

}  // namespace

TEST_CASE("report: policy names forbidden toolchain packages", "[report]") {
  TempDir dir;
  test::write_layer(dir / "base.tar.gz", {{"var/lib/dpkg/status", base_status}});
  test::write_layer(dir / "tools.tar.gz", {{"var/lib/dpkg/status", base_status + toolchain}});
  test::write_layer(dir / "app.tar.gz", {{"app/server", "binary"}});

  std::vector<fs::path> builder_blobs{dir / "base.tar.gz", dir / "tools.tar.gz"};
  Snapshot builder = snapshot_of_layers(
      test::image_of("builder", builder_blobs, {"base debian:bookworm", "build: RUN apt-get install build-essential"}),
      builder_blobs);
  std::vector<fs::path> runtime_blobs{dir / "base.tar.gz", dir / "app.tar.gz"};
  Snapshot runtime = snapshot_of_layers(
      test::image_of("runtime", runtime_blobs, {"base debian:bookworm", "runtime: COPY --from=build /app"}),
      runtime_blobs);

  std::vector<std::string> runtime_names;
  for (const Package& package : runtime.packages) runtime_names.push_back(package.name);
  CHECK(runtime_names == std::vector<std::string>{"base-files", "libc6"});
  CHECK(evaluate_policy(no_toolchain(), runtime).empty());

  std::vector<Finding> findings = evaluate_policy(no_toolchain(), builder, "build");
  std::vector<std::string> lines;
  for (const Finding& f : findings) lines.push_back(cat(f.rule, " ", f.subject, " @", f.layer, " ", f.step, " [", f.scope, "]"));
  const std::string step = "build: RUN apt-get install build-essential";
  CHECK(lines == std::vector<std::string>{
                     "forbidden-package binutils:amd64 @1 " + step + " [build]",
                     "forbidden-package build-essential:amd64 @1 " + step + " [build]",
                     "forbidden-package gcc:amd64 @1 " + step + " [build]",
                     "forbidden-package gcc-12:amd64 @1 " + step + " [build]",
                     "forbidden-package libc6-dev:amd64 @1 " + step + " [build]",
                 });
  REQUIRE_FALSE(findings.empty());
  CHECK(findings[0].message ==
        "forbidden package binutils:amd64 2.40-2 matches 'deb:binutils*' (layer 1, " + step + ")");
}

TEST_CASE("report: policy on paths, size, user and healthcheck", "[report]") {
  TempDir dir;
  test::write_layer(dir / "0.tar.gz", {{"var/lib/dpkg/status", base_status}, {"root/.ssh/id_rsa", "key"}});
  std::vector<fs::path> blobs{dir / "0.tar.gz"};
  Snapshot snapshot = snapshot_of_layers(test::image_of("app", blobs, {"base"}), blobs);

  Policy policy;
  policy.forbidden_paths = {"/root/.ssh/*"};
  policy.required_packages = {{Ecosystem::deb, "ca-certificates"}, {std::nullopt, "libc6"}};
  policy.max_compressed_size = 10;
  policy.max_uncompressed_size = 1ull << 30;
  policy.require_non_root_user = true;
  policy.require_healthcheck = true;

  std::vector<std::string> rules;
  for (const Finding& f : evaluate_policy(policy, snapshot)) rules.push_back(cat(f.rule, " ", f.subject, " @", f.layer));
  CHECK(rules == std::vector<std::string>{"required-package deb:ca-certificates @-1", "forbidden-path /root/.ssh/id_rsa @0",
                                          cat("max-compressed-size ", snapshot.compressed_size(), " @-1"),
                                          "non-root-user  @-1", "healthcheck  @-1"});

  snapshot.user = "root:staff";
  CHECK(evaluate_policy(policy, snapshot)[3].message == "the image runs as root: user is 'root:staff'");

  policy = Policy{};
  policy.require_non_root_user = true;
  policy.require_healthcheck = true;
  snapshot.user = "1000:1000";
  snapshot.healthcheck = std::vector<std::string>{"CMD", "true"};
  CHECK(evaluate_policy(policy, snapshot).empty());
  snapshot.healthcheck = std::vector<std::string>{"NONE"};
  CHECK(evaluate_policy(policy, snapshot).size() == 1);
}

TEST_CASE("report: policy exception pattern wins last", "[report]") {
  TempDir dir;
  std::string status = base_status + stanza("gcc-12-base", "12.2.0-14") + stanza("gcc-12", "12.2.0-14");
  test::write_layer(dir / "0.tar.gz", {{"var/lib/dpkg/status", status}});
  std::vector<fs::path> blobs{dir / "0.tar.gz"};
  Snapshot snapshot = snapshot_of_layers(test::image_of("app", blobs, {"base"}), blobs);

  Policy policy;
  policy.forbidden_packages = {{Ecosystem::deb, "gcc*"}, {Ecosystem::deb, "!gcc-*-base"}};
  std::vector<Finding> findings = evaluate_policy(policy, snapshot);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].subject == "gcc-12:amd64");

  // A later plain pattern forbids again what an exception let through.
  policy.forbidden_packages.push_back({Ecosystem::deb, "gcc-12-base"});
  CHECK(evaluate_policy(policy, snapshot).size() == 2);
}
