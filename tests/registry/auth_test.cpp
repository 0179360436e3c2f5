// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <cstdlib>

#include "imgbuild/registry/auth.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "harness.hpp"

using namespace imgbuild;
using namespace imgbuild::registry;
using imgbuild::test::ScopedEnv;

namespace {

std::string auth_entry(std::string_view user_and_password) {
  return R"({"auth": ")" + base64_encode(user_and_password) + R"("})";
}

}  // namespace

TEST_CASE("registry: base64 round trip", "[registry]") {
  for (const std::string& text : std::vector<std::string>{"", "a", "ab", "abc", "alice:s3cret", std::string("\0\xff:x", 4)}) {
    INFO(text);
    CHECK(base64_decode(base64_encode(text)) == text);
  }
  CHECK(base64_encode("alice:s3cret") == "YWxpY2U6czNjcmV0");
  CHECK(base64_decode("YWxp\nY2U6czNjcmV0") == "alice:s3cret");
  CHECK_THROWS_WITH(base64_decode("abc"), "invalid base64: the length is not a multiple of 4");
  CHECK_THROWS_WITH(base64_decode("ab!?"), "invalid base64: unexpected characters");
}

TEST_CASE("registry: challenge parsing", "[registry]") {
  auto bearer = parse_challenges(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  REQUIRE(bearer.size() == 1);
  CHECK(bearer[0].scheme == "bearer");
  CHECK(bearer[0].params["realm"] == "https://auth.example/token");
  CHECK(bearer[0].params["service"] == "registry.example");
  CHECK(bearer[0].params["scope"] == "repository:a/b:pull,push");

  auto several = parse_challenges(R"(Basic realm="x \"y\"", Bearer realm=https://t.example/token)");
  REQUIRE(several.size() == 2);
  CHECK(several[0].scheme == "basic");
  CHECK(several[0].params["realm"] == "x \"y\"");
  CHECK(several[1].scheme == "bearer");
  CHECK(several[1].params["realm"] == "https://t.example/token");
}

TEST_CASE("registry: credential file search order", "[registry]") {
  TempDir dir;
  ScopedEnv auth_file("REGISTRY_AUTH_FILE", (dir / "explicit.json").string());
  ScopedEnv runtime("XDG_RUNTIME_DIR", (dir / "run").string());
  ScopedEnv home("HOME", (dir / "home").string());
  ScopedEnv docker("DOCKER_CONFIG", std::nullopt);

  std::vector<fs::path> expected = {dir / "explicit.json", dir / "run/containers/auth.json",
                                    dir / "home/.config/containers/auth.json", dir / "home/.docker/config.json"};
  CHECK(credential_files(std::nullopt) == expected);
  CHECK(credential_files(dir / "only.json") == std::vector<fs::path>{dir / "only.json"});

  ScopedEnv docker_config("DOCKER_CONFIG", (dir / "dockercfg").string());
  CHECK(credential_files(std::nullopt).back() == dir / "dockercfg/config.json");

  // The first file with an entry for the host wins; files without one are skipped.
  test::write(dir / "run/containers/auth.json", R"({"auths": {"other.example": )" + auth_entry("x:y") + "}}");
  test::write(dir / "home/.config/containers/auth.json",
              R"({"auths": {"quay.io": )" + auth_entry("alice:from-containers") + "}}");
  test::write(dir / "dockercfg/config.json", R"({"auths": {"quay.io": )" + auth_entry("bob:from-docker") + "}}");
  auto found = find_credentials("quay.io", "team/app", std::nullopt);
  REQUIRE(found);
  CHECK(found->username == "alice");
  CHECK(found->password == "from-containers");
  CHECK(found->source == dir / "home/.config/containers/auth.json");
  CHECK_FALSE(find_credentials("ghcr.io", "team/app", std::nullopt));
}

TEST_CASE("registry: credential key matching", "[registry]") {
  TempDir dir;
  fs::path file = dir / "auth.json";
  test::write(file, R"({"auths": {
      "https://index.docker.io/v1/": )" + auth_entry("hub:one") + R"(,
      "quay.io": )" + auth_entry("quay:all") + R"(,
      "quay.io/team": )" + auth_entry("quay:team") + R"(,
      "quay.io/team/app": )" + auth_entry("quay:app") + R"(,
      "empty.example": {"auth": ""},
      "127.0.0.1:5000": )" + auth_entry("local:pass:with:colons") + R"(
  }})");

  auto hub = find_credentials("docker.io", "library/debian", file);
  REQUIRE(hub);
  CHECK(hub->username == "hub");
  CHECK(find_credentials("quay.io", "team/app", file)->password == "app");
  CHECK(find_credentials("quay.io", "team/other", file)->password == "team");
  CHECK(find_credentials("quay.io", "teamx/app", file)->password == "all");
  CHECK_FALSE(find_credentials("empty.example", "a", file));
  auto local = find_credentials("127.0.0.1:5000", "a", file);
  REQUIRE(local);
  CHECK(local->username == "local");
  CHECK(local->password == "pass:with:colons");
}

TEST_CASE("registry: credential file errors", "[registry]") {
  TempDir dir;
  fs::path file = dir / "auth.json";
  test::write(file, "{not json");
  CHECK_THROWS_WITH(find_credentials("quay.io", "a", file),
                    "credential file '" + file.string() + "' is not valid JSON: fix or remove it");

  test::write(file, R"({"auths": {"quay.io": {"auth": ")" + base64_encode("no-colon") + R"("}}})");
  CHECK_THROWS_WITH(find_credentials("quay.io", "a", file),
                    "credential file '" + file.string() +
                        "' entry 'quay.io': 'auth' does not decode to 'user:password'; log in again to rewrite it");

  test::write(file, R"({"auths": {"quay.io": {"auth": "!!!!"}}})");
  CHECK_THROWS_WITH(find_credentials("quay.io", "a", file),
                    "credential file '" + file.string() + "' entry 'quay.io': invalid base64: unexpected characters");
}
