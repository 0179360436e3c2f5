// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstdlib>
#include <sys/stat.h>

#include "context/support.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/context/secret_store.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::CopyPlan;
using context::CopyRequest;

namespace {

CopyPlan plan_all(const fs::path& dir, std::vector<std::string> allow = {}) {
  auto tree = context::open_directory_context(dir);
  CopyRequest request;
  request.sources = {"."};
  request.destination = "/app/";
  request.allow = std::move(allow);
  test::FakeImage image;
  return context::plan_copy(request, *tree, image.query());
}

std::string error_of(const fs::path& dir) {
  try {
    plan_all(dir);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

const char* pem_key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n";

}  // namespace

TEST_CASE("context: guard rejects env file and ssh key", "[context]") {
  TempDir dir("ctx-guard-");
  test::write(dir / "app.py", "print()\n");
  test::write(dir / ".env", "TOKEN=abc\n");
  test::write(dir / "id_rsa", "not even a key\n");

  CHECK(error_of(dir.path()) ==
        cat("copy from build context ", quote(dir.path().string()),
            " rejected: likely credentials would go into the layer:\n"
            "  '.env' (environment file)\n"
            "  'id_rsa' (SSH private key)\n"
            "to leave them out, add these lines to .dockerignore: /.env /id_rsa\n"
            "to copy them on purpose, list them in the recipe: [context] allow = [\".env\", \"id_rsa\"]"));

  SECTION("ignored credentials plan fine") {
    test::write(dir / ".dockerignore", "/.env\n/id_rsa\n");
    CopyPlan plan = plan_all(dir.path());
    CHECK(test::file_paths(plan) == std::vector<std::string>{"app/.dockerignore", "app/app.py"});
    CHECK(plan.allowed_secrets.empty());
  }
  SECTION("allowed credentials are copied and listed") {
    CopyPlan plan = plan_all(dir.path(), {".env", "id_rsa"});
    CHECK(test::file_paths(plan) == std::vector<std::string>{"app/.env", "app/app.py", "app/id_rsa"});
    CHECK(plan.allowed_secrets == std::vector<std::string>{".env", "id_rsa"});
  }
  SECTION("allowing one leaves the other rejected") {
    CHECK_THROWS_WITH(plan_all(dir.path(), {".env"}),
                      Catch::Contains("'id_rsa' (SSH private key)") && !Catch::Contains("'.env'"));
  }
}

TEST_CASE("context: guard checks names by kind", "[context]") {
  struct Case {
    const char* path;
    const char* content;
    const char* reported;  // "" when the file is fine
  };
  std::vector<Case> cases = {
      {".env.production", "A=1", "'.env.production' (environment file)"},
      {".env.example", "A=", ""},
      {"config/server.key", "k", "'config/server.key' (TLS private key)"},
      {"certs/site.pem", pem_key, "'certs/site.pem' (PEM private key)"},
      {"certs/ca.pem", "-----BEGIN CERTIFICATE-----\n", ""},
      {"notes/key.txt", pem_key, "'notes/key.txt' (PEM private key)"},
      {".git/config", "[core]", "'.git' (git repository data)"},
      {"home/.aws/credentials", "[default]", "'home/.aws/credentials' (AWS credentials)"},
      {"gcp/application_default_credentials.json", "{}",
       "'gcp/application_default_credentials.json' (Google Cloud credentials)"},
      {".azure/accessTokens.json", "[]", "'.azure' (Azure CLI credentials)"},
      {".npmrc", "//registry.npmjs.org/:_authToken=abc\n", "'.npmrc' (npm registry token)"},
      {"web/.npmrc", "registry=http://127.0.0.1:4873/\n", ""},
      {".pypirc", "[pypi]\nusername = __token__\npassword = pypi-abc\n", "'.pypirc' (PyPI credentials)"},
      {".docker/config.json", "{\"auths\":{}}", "'.docker/config.json' (Docker registry credentials)"},
      {"keys/store.p12", "x", "'keys/store.p12' (PKCS #12 key store)"},
      {"id_ed25519.pub", "ssh-ed25519 AAAA", ""},
  };
  for (const Case& c : cases) {
    INFO("file: " << c.path);
    TempDir dir("ctx-guard-kind-");
    test::write(dir / c.path, c.content);
    std::string error = error_of(dir.path());
    if (std::string(c.reported).empty()) CHECK(error.empty());
    else CHECK_THAT(error, Catch::Contains(cat("\n  ", c.reported, "\n")));
  }
}

TEST_CASE("context: guard leaves stages alone", "[context]") {
  TempDir dir("ctx-guard-stage-");
  test::write(dir / "etc/ssl/private/site.key", pem_key);
  context::RootfsView stage({dir.path()}, "stage 'build'");
  CopyRequest request;
  request.sources = {"/etc/ssl"};
  request.destination = "/etc/ssl";
  test::FakeImage image;
  CHECK(context::plan_copy(request, stage, image.query()).entries.size() == 4);
}

TEST_CASE("context: secret store materialises files", "[context]") {
  TempDir dir("ctx-secrets-");
  test::write(dir / "token.txt", "s3cr3t-file");
  ::setenv("IMGBUILD_TEST_SECRET", "s3cr3t-env", 1);

  fs::path secret_dir;
  {
    context::SecretStore store({{"npm", dir / "token.txt", ""}, {"api", "", "IMGBUILD_TEST_SECRET"}});
    CHECK(store.ids() == std::vector<std::string>{"api", "npm"});
    CHECK(store.contains("npm"));

    fs::path npm = store.path("npm");
    CHECK(read_file(npm) == "s3cr3t-file");
    CHECK(read_file(store.path("api")) == "s3cr3t-env");
    CHECK(store.path("npm") == npm);

    struct stat info{};
    REQUIRE(::stat(npm.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0400);
    secret_dir = store.directory();
    REQUIRE(::stat(secret_dir.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0700);

    try {
      store.path("nmp");
      FAIL("unknown id accepted");
    } catch (const Error& error) {
      CHECK(std::string(error.what()) ==
            "unknown secret 'nmp'; did you mean 'npm'?; define it in the recipe's [secrets] or pass "
            "--secret id=nmp,src=FILE");
    }
  }
  CHECK_FALSE(fs::exists(secret_dir));
}

TEST_CASE("context: secret store errors never hold values", "[context]") {
  ::unsetenv("IMGBUILD_TEST_UNSET");
  context::SecretStore store({{"gone", "", "IMGBUILD_TEST_UNSET"}, {"file", "/nonexistent/secret", ""}});
  CHECK_THROWS_WITH(store.path("gone"),
                    "secret 'gone': environment variable 'IMGBUILD_TEST_UNSET' is not set; "
                    "export it or point the secret at a file with src=");
  CHECK_THROWS_WITH(store.path("file"), Catch::StartsWith("secret 'file': file '/nonexistent/secret' not found"));
  CHECK_THROWS_WITH(context::SecretStore({{"a", "x", ""}, {"a", "y", ""}}),
                    "secret 'a' is defined twice; keep one definition");
  CHECK_THROWS_WITH(context::SecretStore({{"../x", "x", ""}}), Catch::StartsWith("invalid secret id '../x'"));
}
