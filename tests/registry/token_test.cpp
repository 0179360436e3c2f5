// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using registry::Client;
using registry::Reference;

namespace {

// The bearer-token registry script from tests/data/registry on a free port.
struct TokenRegistry {
  TempDir dir;
  int port = free_port();
  std::string host = cat("127.0.0.1:", port);
  BackgroundProcess process{{"python3", (source_dir() / "tests/data/registry/token_registry.py").string(),
                             std::to_string(port), "tina", "token-pass"},
                            dir / "server.log"};

  TokenRegistry() {
    if (!wait_for_port(port)) fail("token_registry.py did not listen on port ", port);
  }

  registry::RegistryOptions options(const std::string& password) {
    write_auth_file(dir / "auth.json", host, "tina", password);
    registry::RegistryOptions result;
    result.hosts[host].insecure = true;
    result.auth_file = dir / "auth.json";
    result.retry_delay = std::chrono::milliseconds(10);
    return result;
  }

  nlohmann::json stats() { return nlohmann::json::parse(run_checked({"curl", "-sf", cat("http://", host, "/stats")})); }
  void revoke() { run_checked({"curl", "-sf", "-X", "POST", cat("http://", host, "/revoke")}); }
};

}  // namespace

TEST_CASE("registry: bearer token flow and refresh", "[registry]") {
  TokenRegistry server;
  Client client(server.options("token-pass"));
  Reference reference = Reference::parse(server.host + "/demo/app:v1");

  CapturedStderr captured;
  auto first = client.resolve(reference, linux_amd64);
  CHECK(first.media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(server.stats()["issued"] == 1);
  CHECK(server.stats()["scopes"] == nlohmann::json{"repository:demo/app:pull"});

  // The cached token serves the next request; after it expires the client
  // fetches a new one on the 401.
  client.resolve(reference, linux_amd64);
  CHECK(server.stats()["issued"] == 1);
  server.revoke();
  CHECK(client.resolve(reference, linux_amd64).digest == first.digest);
  CHECK(server.stats()["issued"] == 2);
  CHECK(captured.text().find("token-") == std::string::npos);
}

TEST_CASE("registry: bearer token wrong password", "[registry]") {
  TokenRegistry server;
  Client client(server.options("bad-token-pass"));
  std::string error = error_of([&] { client.resolve(Reference::parse(server.host + "/demo/app:v1"), linux_amd64); });
  CHECK(error == "resolving '" + server.host + "/demo/app:v1': registry '" + server.host +
                     "' rejected the credentials of user 'tina' from '" + (server.dir / "auth.json").string() +
                     "' for 'repository:demo/app:pull': check the user and password, or log in with 'podman login " +
                     server.host + "' or point the registry auth file option at a file with credentials");
  CHECK(error.find("bad-token-pass") == std::string::npos);
  CHECK(server.stats()["issued"] == 0);
}

TEST_CASE("registry: retries on 503", "[registry]") {
  TokenRegistry server;
  Client client(server.options("token-pass"));
  CapturedStderr captured;
  client.resolve(Reference::parse(server.host + "/demo/flaky:v1"), linux_amd64);
  std::string log_text = captured.text();
  CHECK(client.stats().retries == 2);
  CHECK(log_text.find("imgbuild: warning: retrying GET http://" + server.host +
                      "/v2/demo/flaky/manifests/v1 after 503 Service Unavailable (attempt 2 of 4, waiting 10 ms)") !=
        std::string::npos);
  CHECK(log_text.find("(attempt 3 of 4, waiting 20 ms)") != std::string::npos);
}
