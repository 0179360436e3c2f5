// SPDX-License-Identifier: Apache-2.0
// A run step that installs a Debian package from the archive (network
// needed) on a bookworm package-set base: its layer must hold the package
// and none of the files apt and dpkg rewrite on every run.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "e2e/e2e_support.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

TEST_CASE("e2e: apt-get install layer has no volatile files", "[e2e][slow]") {
  TempDir dir("apt-step-");
  std::filesystem::create_directories(dir / "context");
  write(dir / "recipe.toml", R"(
[image]
name = "localhost/apt-step"

[context]
dir = "context"

[[stage]]
name = "builder"

[stage.base.debian]
suite = "bookworm"

[[stage.step]]
run = "apt-get update -q && apt-get install -y -q --no-install-recommends hello && rm -rf /var/lib/apt/lists/*"
)");
  std::filesystem::path store = imgbuild_binary().parent_path() / "test-store-backend";
  auto result = run_imgbuild({"build", (dir / "recipe.toml").string(), "--store", store.string(), "--progress",
                              "plain", "--no-cache", "--output", "oci:" + (dir / "layout").string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);

  auto index = nlohmann::json::parse(read_file(dir / "layout/index.json"));
  std::string manifest_digest = index["manifests"][0]["digest"].get<std::string>();
  auto manifest = nlohmann::json::parse(read_file(dir / "layout/blobs/sha256" / manifest_digest.substr(7)));
  REQUIRE(manifest["layers"].size() == 2);
  std::string step_layer = manifest["layers"][1]["digest"].get<std::string>();
  std::vector<std::string> names = layer_names(dir / "layout/blobs/sha256" / step_layer.substr(7));

  CHECK(std::find(names.begin(), names.end(), "usr/bin/hello") != names.end());
  for (const auto& name : names) {
    INFO(name);
    CHECK(name != "var/log/dpkg.log");
    CHECK(name != "var/log/alternatives.log");
    // The directory itself is copied up when apt writes into it; its files are left out.
    if (name != "var/log/apt/") CHECK(name.rfind("var/log/apt/", 0) == std::string::npos);
    CHECK(name != "var/cache/ldconfig/aux-cache");
    CHECK(name.find("pkgcache.bin") == std::string::npos);
    CHECK_FALSE(name.ends_with(".deb"));
  }
}
