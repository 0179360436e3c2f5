// SPDX-License-Identifier: Apache-2.0
// Pushing built images to a registry started on 127.0.0.1 and building on
// them as bases, through the imgbuild binary.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/e2e_support.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/registry.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

std::string busybox_recipe(const std::string& extra) {
  return R"(
[image]
name = "localhost/e2e-push"
tags = ["1.0"]

[context]
dir = "context"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
copy = "rootfs"
to = "/"

[[stage.step]]
run = "echo pushed > /marker"
)" + extra;
}

// Counts the blob upload requests the registry has logged so far.
int blob_uploads(const TestRegistry& registry) {
  std::istringstream lines(read_file(registry.log_file()));
  int uploads = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find("/blobs/uploads/") != std::string::npos &&
        (line.find("\"PUT ") != std::string::npos || line.find("\"PATCH ") != std::string::npos))
      ++uploads;
  return uploads;
}

ProcessResult build(const std::filesystem::path& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"build", (dir / "recipe.toml").string(), "--store", (dir / "store").string(),
                                   "--progress", "plain", "--metadata-file", (dir / "metadata.json").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_imgbuild(args);
}

std::string digest_of(const std::filesystem::path& dir) {
  return nlohmann::json::parse(read_file(dir / "metadata.json"))["containerimage.digest"].get<std::string>();
}

}  // namespace

TEST_CASE("e2e: push then build on the pushed image", "[e2e]") {
  TempDir dir("e2e-push-");
  TestRegistry registry(dir / "registry");
  make_busybox_rootfs(dir / "context/rootfs");
  write(dir / "recipe.toml", busybox_recipe(""));
  std::string reference = registry.host() + "/e2e/busybox:1.0";

  auto pushed = build(dir.path(), {"--output", "docker://" + reference, "--insecure-registry", registry.host()});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  int uploads = blob_uploads(registry);
  CHECK(uploads >= 2);  // the layer and the config

  auto raw = run_process({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + reference});
  INFO(raw.err);
  REQUIRE(raw.exit_code == 0);
  CHECK(sha256_of(raw.out).str() == digest_of(dir.path()));

  SECTION("a second push uploads no blob") {
    auto again = build(dir.path(), {"--output", "docker://" + reference, "--insecure-registry", registry.host()});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(blob_uploads(registry) == uploads);
  }

  SECTION("plain HTTP needs the insecure flag") {
    auto refused = build(dir.path(), {"--output", "docker://" + reference});
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find(registry.host()) != std::string::npos);
  }

  SECTION("the pushed image serves as a base") {
    TempDir second("e2e-pull-");
    std::filesystem::create_directories(second / "context");
    write(second / "recipe.toml", R"(
[image]
name = "localhost/e2e-pulled"

[context]
dir = "context"

[[stage]]
name = "app"
base = "docker://)" + reference + R"("

[[stage.step]]
run = "cat /marker > /copied"
)");
    auto derived = build(second.path(), {"--insecure-registry", registry.host(), "--output",
                                         "oci:" + (second / "layout").string()});
    INFO(derived.err);
    REQUIRE(derived.exit_code == 0);
    auto unpack = run_process({"umoci", "unpack", "--image", (second / "layout").string() + ":latest",
                               (second / "bundle").string()});
    INFO(unpack.err);
    REQUIRE(unpack.exit_code == 0);
    CHECK(read_file(second / "bundle/rootfs/copied") == "pushed\n");
    // The tag is pinned beside the recipe.
    auto lock = nlohmann::json::parse(read_file(second / "imgbuild.lock"));
    CHECK(lock["bases"].contains(reference));
  }
}
