// SPDX-License-Identifier: Apache-2.0
// End-to-end builds of a small multi-stage recipe whose stages start from a
// busybox rootfs copied out of the build context, so they need no network
// and no registry. They run the real imgbuild binary, runc and overlayfs.
#include <catch2/catch.hpp>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/busybox_recipe.hpp"
#include "e2e/e2e_support.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/podman.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

const char* const recipe_text = busybox_recipe;

// A recipe directory with the context beside it and its own store.
struct Project {
  TempDir dir{"e2e-"};
  std::filesystem::path recipe = dir / "recipe.toml";
  std::filesystem::path store = dir / "store";

  explicit Project(const std::string& text = recipe_text) {
    make_busybox_rootfs(dir / "context/rootfs");
    write(recipe, text);
  }

  ProcessResult build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", recipe.string(), "--store", store.string(), "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessOptions options;
    options.extra_env = {"TMPDIR=" + (dir / "tmp").string()};
    std::filesystem::create_directories(dir / "tmp");
    return run_imgbuild(args, options);
  }

  std::string digest(const std::string& metadata_name = "metadata.json") {
    return nlohmann::json::parse(read_file(dir / metadata_name))["containerimage.digest"].get<std::string>();
  }
};

std::string output_of(const ProcessResult& result) { return result.out + result.err; }

}  // namespace

TEST_CASE("e2e: multi-stage build and validators", "[e2e]") {
  Project project;
  auto result = project.build({"--output", "oci:" + (project.dir / "layout").string(), "--output",
                               "docker-archive:" + (project.dir / "image.tar").string(), "--metadata-file",
                               (project.dir / "metadata.json").string()});
  INFO(output_of(result));
  REQUIRE(result.exit_code == 0);

  SECTION("umoci unpacks the layout") {
    auto unpack = run_process({"umoci", "unpack", "--image", (project.dir / "layout").string() + ":1.0",
                               (project.dir / "bundle").string()});
    INFO(unpack.err);
    REQUIRE(unpack.exit_code == 0);
    CHECK(read_file(project.dir / "bundle/rootfs/app/artifact") == "hello\n");
    CHECK(read_file(project.dir / "bundle/rootfs/tmp/uid") == "1000\n");
    auto home = list_tree(project.dir / "bundle/rootfs/home/someone");
    CHECK(std::find(home.begin(), home.end(), "d 0755 1000:1000 work/") != home.end());
    CHECK(std::find(home.begin(), home.end(), "f 0644 1000:1000 0 work/file") != home.end());
  }

  SECTION("oci-image-tool validates the layout") {
    auto validate = run_process({"oci-image-tool", "validate", "--type", "image", (project.dir / "layout").string()});
    INFO(validate.out + validate.err);
    CHECK(validate.exit_code == 0);
  }

  SECTION("podman loads and runs the docker-archive") {
    PodmanSandbox podman(project.dir.path());
    auto load = podman.run({"load", "-i", (project.dir / "image.tar").string()});
    INFO(load.out + load.err);
    REQUIRE(load.exit_code == 0);
    auto run = podman.run({"run", "--rm", "--network", "none", "localhost/e2e-busybox:1.0"});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.out == "hello\n");
  }
}

TEST_CASE("e2e: second build runs no step", "[e2e]") {
  Project project;
  auto metadata = (project.dir / "metadata.json").string();
  auto first = project.build({"--metadata-file", metadata});
  INFO(output_of(first));
  REQUIRE(first.exit_code == 0);
  std::string first_digest = project.digest();
  CHECK(count_steps(first.err).built >= 6);

  auto second = project.build({"--metadata-file", metadata});
  INFO(output_of(second));
  REQUIRE(second.exit_code == 0);
  CHECK(count_steps(second.err).built == 0);
  CHECK(count_steps(second.err).cached == 7);  // every step but USER, which only sets the config
  CHECK(project.digest() == first_digest);
}

TEST_CASE("e2e: changed build arg reruns its steps only", "[e2e]") {
  Project project;
  REQUIRE(project.build().exit_code == 0);
  auto changed = project.build({"--build-arg", "GREETING=bye", "--explain"});
  INFO(output_of(changed));
  REQUIRE(changed.exit_code == 0);
  // Builder step 3 reads the arg. The runtime stage's copy then reads a
  // changed file, and the steps after it chain from the copy.
  CHECK(changed.err.find("[builder 1/3]") != std::string::npos);
  CHECK(changed.err.find("build arg 'GREETING' changed ('hello' -> 'bye')") != std::string::npos);
  auto counts = count_steps(changed.err);
  CHECK(counts.cached == 3);  // base copy, builder steps 1 and 2
  CHECK(counts.built == 4);   // builder step 3, then the runtime copy and the steps after it
}

TEST_CASE("e2e: two empty stores give one digest", "[e2e]") {
  Project a, b;
  REQUIRE(a.build({"--metadata-file", (a.dir / "metadata.json").string()}).exit_code == 0);
  REQUIRE(b.build({"--metadata-file", (b.dir / "metadata.json").string()}).exit_code == 0);
  CHECK(a.digest() == b.digest());
}

// An empty SOURCE_DATE_EPOCH is unset: the recipe's epoch still applies.
TEST_CASE("e2e: empty SOURCE_DATE_EPOCH keeps the recipe's epoch", "[e2e]") {
  Project a, b;
  REQUIRE(a.build({"--metadata-file", (a.dir / "metadata.json").string()}).exit_code == 0);
  ProcessOptions options;
  options.extra_env = {"SOURCE_DATE_EPOCH="};
  auto result = run_imgbuild({"build", b.recipe.string(), "--store", b.store.string(), "--progress", "plain",
                              "--metadata-file", (b.dir / "metadata.json").string()},
                             options);
  INFO(output_of(result));
  REQUIRE(result.exit_code == 0);
  CHECK(a.digest() == b.digest());
}

TEST_CASE("e2e: failing step names its line and cleans up", "[e2e]") {
  std::string text = std::string(recipe_text) + R"(
[[stage]]
name = "broken"
base = "base"

[[stage.step]]
run = "echo first-line; echo oops >&2; exit 7"
)";
  Project project(text);
  auto result = project.build({"--target", "broken"});
  INFO(output_of(result));
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("step 1 of stage 'broken'") != std::string::npos);
  CHECK(result.err.find(project.recipe.string() + ":") != std::string::npos);
  CHECK(result.err.find("exit code 7") != std::string::npos);
  CHECK(result.err.find("oops") != std::string::npos);
  CHECK(mounts_under(project.dir.path()).empty());
  CHECK(list_tree(project.dir / "tmp").empty());
}

TEST_CASE("e2e: interrupt during a step cleans up", "[e2e]") {
  std::string text = std::string(recipe_text) + R"(
[[stage]]
name = "slow"
base = "base"

[[stage.step]]
run = "echo started; sleep 47"
)";
  Project project(text);
  std::filesystem::create_directories(project.dir / "tmp");
  BackgroundProcess build({imgbuild_binary().string(), "build", project.recipe.string(), "--store",
                           project.store.string(), "--target", "slow", "--progress", "plain"},
                          project.dir / "build.log", {"TMPDIR=" + (project.dir / "tmp").string()});
  bool started = wait_for_log(project.dir / "build.log", "started", 60);
  INFO(read_file(project.dir / "build.log"));
  REQUIRE(started);
  ::kill(build.pid(), SIGINT);
  CHECK(build.wait_exit(30) == 130);
  CHECK_THAT(read_file(project.dir / "build.log"), Catch::Contains("imgbuild: interrupted by SIGINT"));
  CHECK(mounts_under(project.dir.path()).empty());
  auto left = list_tree(project.dir / "tmp");
  INFO(join(left, "\n"));
  CHECK(left.empty());
  auto runc = run_process({"sh", "-c", "ps -eo args | grep -c '[s]leep 47' || true"});
  CHECK(trim(runc.out) == "0");
}

TEST_CASE("e2e: policy violation exits 3", "[e2e]") {
  std::string text = std::string(recipe_text) + R"(
[policy]
require_non_root = true
forbid_paths = ["/app/artif*"]
)";
  Project project(text);
  auto result = project.build({"--target", "builder", "--output", "oci:" + (project.dir / "layout").string()});
  INFO(output_of(result));
  CHECK(result.exit_code == 3);
  CHECK(output_of(result).find("the image runs as root") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(project.dir / "layout"));
}

TEST_CASE("e2e: check prints stages in build order", "[e2e]") {
  Project project;
  auto result = run_imgbuild({"check", project.recipe.string()});
  INFO(output_of(result));
  REQUIRE(result.exit_code == 0);
  auto base = result.out.find("base");
  auto builder = result.out.find("builder");
  auto runtime = result.out.find("runtime");
  CHECK(base < builder);
  CHECK(builder < runtime);
}

// Names are bytes: Latin-1 and newlines must reach the layer unchanged and
// must not break the report, whose JSON carries only UTF-8.
TEST_CASE("e2e: names that are not UTF-8 build", "[e2e]") {
  std::string text = std::string(recipe_text) + R"(
[[stage]]
name = "names"
base = "base"

[[stage.step]]
copy = "names"
to = "/ctx/"

[[stage.step]]
run = "touch \"/made-$(printf 'caf\\351')\""
)";
  Project project(text);
  write(project.dir / "context/names/caf\xe9", "latin-1");
  write(project.dir / "context/names/foo\nbar.txt", "newline");
  fs::path report = project.dir / "report.json";
  auto result = project.build({"--target", "names", "--output", "oci:" + (project.dir / "layout").string(),
                               "--report", report.string()});
  INFO(output_of(result));
  REQUIRE(result.exit_code == 0);
  CHECK(nlohmann::json::parse(read_file(report))["schema"] == "imgbuild-report/1");

  auto unpack = run_process({"umoci", "unpack", "--image", (project.dir / "layout").string() + ":latest",
                             (project.dir / "bundle").string()});
  INFO(unpack.err);
  REQUIRE(unpack.exit_code == 0);
  fs::path rootfs = project.dir / "bundle/rootfs";
  CHECK(read_file(rootfs / "ctx/caf\xe9") == "latin-1");
  CHECK(read_file(rootfs / "ctx/foo\nbar.txt") == "newline");
  CHECK(fs::exists(rootfs / "made-caf\xe9"));
}
