// SPDX-License-Identifier: Apache-2.0
// The reference job: recipes/backend.toml built for real, from Debian
// package-set bases made by mmdebstrap (the Debian archive must be
// reachable), then run under podman. The store lives in the build tree, so
// later runs of the suite reuse the bases and steps.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/e2e_support.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/podman.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using nlohmann::json;

namespace {

std::filesystem::path backend_store() { return imgbuild_binary().parent_path() / "test-store-backend"; }

// A copy of the recipe and the example next to each other, as in the
// repository, so a test can change an application file.
struct BackendCopy {
  TempDir dir{"backend-"};
  std::filesystem::path recipe = dir / "recipes/backend.toml";

  BackendCopy() {
    std::filesystem::create_directories(dir / "recipes");
    std::filesystem::create_directories(dir / "examples");
    std::filesystem::copy_file(source_dir() / "recipes/backend.toml", recipe);
    std::filesystem::copy(source_dir() / "examples/backend", dir / "examples/backend",
                          std::filesystem::copy_options::recursive);
  }

  ProcessResult build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", recipe.string(), "--store", backend_store().string(),
                                     "--progress", "plain", "--metadata-file", (dir / "metadata.json").string(),
                                     "--report", (dir / "report.json").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_imgbuild(args);
  }

  json report() const { return json::parse(read_file(dir / "report.json")); }
  std::string digest() const {
    return json::parse(read_file(dir / "metadata.json"))["containerimage.digest"].get<std::string>();
  }
};

std::vector<std::string> package_names(const json& report) {
  std::vector<std::string> names;
  for (const auto& package : report["current"]["packages"]) names.push_back(package["name"].get<std::string>());
  return names;
}

bool has_package(const json& report, const std::string& name) {
  auto names = package_names(report);
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST_CASE("e2e: backend image builds and runs", "[e2e][slow]") {
  BackendCopy project;
  auto first = project.build();
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  json report = project.report();
  std::string digest = project.digest();

  SECTION("runtime holds no build tools") {
    CHECK(has_package(report, "python3"));
    CHECK(has_package(report, "curl"));
    CHECK_FALSE(has_package(report, "gcc"));
    CHECK_FALSE(has_package(report, "gcc-12"));
    CHECK_FALSE(has_package(report, "binutils"));
    CHECK_FALSE(has_package(report, "build-essential"));
    CHECK_FALSE(has_package(report, "python3-dev"));
    CHECK(has_package(report, "backend-native"));  // the compiled part, a Python distribution in /opt/venv
    CHECK(report["policy"].empty());
  }

  SECTION("builder stage held gcc and fails the policy") {
    auto builder = project.build({"--target", "builder"});
    INFO(builder.err);
    CHECK(builder.exit_code == 3);
    json builder_report = project.report();
    CHECK(has_package(builder_report, "gcc"));
    CHECK(builder.err.find("forbidden package gcc:amd64") != std::string::npos);
    CHECK(builder.err.find("imgbuild debian bookworm minbase: build-essential") != std::string::npos);
  }

  SECTION("second build runs no step and changes nothing") {
    auto again = project.build();
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(count_steps(again.err).built == 0);
    json second = project.report();
    CHECK(second["size"]["compressed_delta"] == 0);
    CHECK(second["size"]["uncompressed_delta"] == 0);
    CHECK(second["packages"]["added"].empty());
    CHECK(second["packages"]["removed"].empty());
    CHECK(second["packages"]["changed"].empty());
    CHECK(project.digest() == digest);
  }

  SECTION("one changed application file reruns only its steps") {
    // A line unique to this run: the store outlives the run, and a change
    // an earlier run already built would be a cache hit.
    write(project.dir / "examples/backend/app/server.py",
          read_file(project.dir / "examples/backend/app/server.py") +
              cat("# changed ", std::chrono::system_clock::now().time_since_epoch().count(), "\n"));
    auto changed = project.build({"--explain"});
    INFO(changed.err);
    REQUIRE(changed.exit_code == 0);
    CHECK(changed.err.find("[runtime 3/3] COPY app /srv/app/ ... built") != std::string::npos);
    CHECK(changed.err.find("copied files changed") != std::string::npos);
    // Only the runtime's copy of app/ reads the file: the compiler, pip and
    // the copy of the venv stay cached.
    CHECK(count_steps(changed.err).built == 1);
    CHECK(count_steps(changed.err).cached == 4);
    CHECK(project.digest() != digest);
  }

  SECTION("a build without the step cache gives the same digest") {
    auto clean = project.build({"--no-cache"});
    INFO(clean.err);
    REQUIRE(clean.exit_code == 0);
    CHECK(count_steps(clean.err).cached == 0);
    CHECK(project.digest() == digest);
  }

  SECTION("podman runs the service and its healthcheck") {
    PodmanSandbox podman(project.dir.path());
    auto load = podman.run({"load", "-i", (project.dir / "out/backend.tar").string()});
    INFO(load.out + load.err);
    REQUIRE(load.exit_code == 0);
    auto run = podman.run({"run", "-d", "--name", "backend-e2e", "--network", "host", "localhost/backend:latest"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    std::string health;
    for (int i = 0; i < 50 && health.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      health = run_process({"curl", "-fsS", "http://127.0.0.1:8000/api/v1/health"}).out;
    }
    CHECK(health == R"({"status": "ok", "version": "1.0.0"})");
    // The compiled module from the builder stage works in the runtime.
    auto checksum = run_process({"curl", "-fsS", "http://127.0.0.1:8000/api/v1/checksum/abc"}).out;
    CHECK(checksum == R"({"input": "abc", "adler32": 38600999})");
    auto check = podman.run({"healthcheck", "run", "backend-e2e"});
    CHECK(check.exit_code == 0);
    auto start = std::chrono::steady_clock::now();
    auto stop = podman.run({"stop", "backend-e2e"});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(stop.exit_code == 0);
    CHECK(seconds < 5.0);  // podman's kill timeout is 10 s; SIGTERM must end the service first
    podman.run({"rm", "-f", "backend-e2e"});
  }
}
