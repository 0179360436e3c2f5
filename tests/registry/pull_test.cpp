// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using registry::Client;
using registry::Reference;

namespace {

// A registry holding the busybox test image as demo/busybox:v1.
struct PulledSetup {
  TempDir dir;
  TestRegistry server;
  TestImage image;

  explicit PulledSetup(TestRegistryOptions options = {})
      : server(dir / "registry", options), image(write_busybox_layout(dir / "layout", "v1")) {
    copy_to_registry(server, dir / "layout", "v1", "demo/busybox:v1");
  }
  Reference reference(std::string_view tag = "v1") const {
    return Reference::parse(cat(server.host(), "/demo/busybox:", tag));
  }
};

void check_pulled(const image::Image& pulled, const TestImage& image, const store::Store& store) {
  REQUIRE(pulled.manifest_digest);
  CHECK(pulled.manifest_digest->str() == image.manifest_digest);
  REQUIRE(pulled.layers.size() == 1);
  CHECK(pulled.layers[0].blob.digest.str() == image.layer_digest);
  CHECK(pulled.layers[0].blob.size == static_cast<std::int64_t>(image.layer_size));
  CHECK(pulled.layers[0].blob.media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK(pulled.layers[0].diff_id.str() == image.diff_id);
  CHECK(pulled.config["architecture"] == "amd64");
  CHECK(store.has_blob(Digest::parse(image.layer_digest)));
  CHECK(store.has_blob(Digest::parse(image.config_digest)));
  CHECK(store.has_blob(Digest::parse(image.manifest_digest)));
  CHECK_NOTHROW(store.verify_blob(Digest::parse(image.layer_digest)));
}

}  // namespace

TEST_CASE("registry: pull over http and https", "[registry]") {
  struct Mode {
    bool tls;
    bool auth;
  };
  for (Mode mode : {Mode{false, false}, Mode{true, false}, Mode{false, true}, Mode{true, true}}) {
    INFO("tls " << mode.tls << ", auth " << mode.auth);
    TestRegistryOptions options{mode.tls, mode.auth ? "alice" : "", mode.auth ? "correct-horse" : ""};
    PulledSetup setup(options);
    registry::RegistryOptions client_settings = client_options(setup.server);
    client_settings.auth_file = setup.dir / "auth.json";
    if (mode.auth) write_auth_file(setup.dir / "auth.json", setup.server.host(), "alice", "correct-horse");

    store::Store store = store::Store::open(setup.dir / "store");
    Client client(client_settings);
    std::vector<registry::TransferProgress> reports;
    image::Image pulled = client.pull_image(setup.reference(), linux_amd64, store,
                                            [&](const registry::TransferProgress& p) { reports.push_back(p); });
    check_pulled(pulled, setup.image, store);
    CHECK(pulled.name == setup.server.host() + "/demo/busybox:v1");
    CHECK(client.stats().blobs_downloaded == 2);
    CHECK(client.stats().bytes_downloaded > setup.image.layer_size);
    REQUIRE_FALSE(reports.empty());
    CHECK(reports.back().done);
    CHECK(reports.back().digest.str() == setup.image.layer_digest);
    CHECK(reports.back().bytes == setup.image.layer_size);

    // The store has every blob now, so a second pull downloads none.
    Client again(client_settings);
    check_pulled(again.pull_image(setup.reference(), linux_amd64, store), setup.image, store);
    CHECK(again.stats().blobs_downloaded == 0);
    CHECK(again.stats().blobs_skipped == 2);
  }
}

TEST_CASE("registry: pull by digest", "[registry]") {
  PulledSetup setup;
  store::Store store = store::Store::open(setup.dir / "store");
  Client client(client_options(setup.server));
  Reference by_digest = Reference::parse(cat(setup.server.host(), "/demo/busybox@", setup.image.manifest_digest));
  check_pulled(client.pull_image(by_digest, linux_amd64, store), setup.image, store);
}

TEST_CASE("registry: pinned pull works offline", "[registry]") {
  TempDir dir;
  fs::path store_dir = dir / "store";
  TestImage image;
  Reference by_digest;
  {
    TestRegistry server(dir / "registry");
    image = write_busybox_layout(dir / "layout", "multi", {{"amd64", "arm64"}});
    copy_to_registry(server, dir / "layout", "multi", "demo/multi:v1");
    by_digest = Reference::parse(cat(server.host(), "/demo/multi@", image.manifest_digest));
    store::Store store = store::Store::open(store_dir);
    Client client(client_options(server));
    client.pull_image(by_digest, linux_amd64, store);
  }

  // The registry is gone: the pin, the platform and the store decide.
  store::Store store = store::Store::open(store_dir);
  Client client;
  image::Image pulled = client.pull_image(by_digest, linux_amd64, store);
  CHECK(client.stats().blobs_downloaded == 0);
  CHECK(client.stats().blobs_skipped == 2);
  REQUIRE(pulled.layers.size() == 1);
  CHECK(pulled.config["architecture"] == "amd64");
  CHECK(pulled.layers[0].blob.digest.str() == image.layer_digest);
  CHECK(pulled.manifest_digest != Digest::parse(image.manifest_digest));  // the amd64 manifest, not the index

  // Another platform of the same pin was never pulled, so it needs the registry.
  CHECK_THROWS(client.pull_image(by_digest, {"linux", "arm64", "v8"}, store));
}

TEST_CASE("registry: resolve an index to the platform", "[registry]") {
  TempDir dir;
  TestRegistry server(dir / "registry");
  TestImage index = write_busybox_layout(dir / "layout", "multi", {{"amd64", "arm64"}});
  copy_to_registry(server, dir / "layout", "multi", "demo/multi:v1");
  Client client(client_options(server));
  Reference reference = Reference::parse(server.host() + "/demo/multi:v1");

  auto amd64 = client.resolve(reference, linux_amd64);
  CHECK(amd64.reference_digest.str() == index.manifest_digest);
  CHECK(amd64.media_type == "application/vnd.oci.image.manifest.v1+json");
  auto arm64 = client.resolve(reference, {"linux", "arm64", "v8"});
  CHECK(arm64.reference_digest.str() == index.manifest_digest);
  CHECK(arm64.digest == sha256_of(arm64.bytes));
  CHECK(arm64.digest != amd64.digest);
  CHECK(nlohmann::json::parse(arm64.bytes)["config"]["digest"] == index.config_digest);

  CHECK(error_of([&] { client.resolve(reference, {"linux", "riscv64", ""}); }) ==
        "resolving '" + server.host() + "/demo/multi:v1': image '" + server.host() +
            "/demo/multi:v1' has no manifest for platform 'linux/riscv64'; it offers: linux/amd64, linux/arm64");
}

TEST_CASE("registry: pull errors", "[registry]") {
  PulledSetup setup({false, "alice", "correct-horse"});
  const std::string host = setup.server.host();
  store::Store store = store::Store::open(setup.dir / "store");
  registry::RegistryOptions options = client_options(setup.server);
  options.auth_file = setup.dir / "auth.json";

  SECTION("wrong password") {
    write_auth_file(setup.dir / "auth.json", host, "alice", "wrong-battery");
    log::set_verbose(true);
    CapturedStderr captured;
    std::string error = error_of([&] { Client(options).pull_image(setup.reference(), linux_amd64, store); });
    std::string log_text = captured.text();
    log::set_verbose(false);
    CHECK(error == "resolving '" + host + "/demo/busybox:v1': registry '" + host +
                       "' rejected the credentials of user 'alice' from '" + (setup.dir / "auth.json").string() +
                       "' for 'repository:demo/busybox:pull': check the user and password, or log in with "
                       "'podman login " + host + "' or point the registry auth file option at a file with credentials");
    CHECK(log_text.find("GET http://" + host + "/v2/demo/busybox/manifests/v1: 401 Unauthorized") != std::string::npos);
    CHECK(error.find("wrong-battery") == std::string::npos);
    CHECK(log_text.find("wrong-battery") == std::string::npos);
    CHECK(log_text.find(registry::base64_encode("alice:wrong-battery")) == std::string::npos);
  }

  SECTION("no credentials") {
    std::string error = error_of([&] { Client(options).pull_image(setup.reference(), linux_amd64, store); });
    CHECK(error == "resolving '" + host + "/demo/busybox:v1': registry '" + host +
                       "' requires authentication for 'repository:demo/busybox:pull' and no credentials for it were "
                       "found in '" + (setup.dir / "auth.json").string() + "': log in with 'podman login " + host +
                       "' or point the registry auth file option at a file with credentials");
  }

  SECTION("missing tag") {
    write_auth_file(setup.dir / "auth.json", host, "alice", "correct-horse");
    std::string error = error_of([&] { Client(options).pull_image(setup.reference("v9"), linux_amd64, store); });
    CHECK(error == "resolving '" + host + "/demo/busybox:v9': image '" + host + "/demo/busybox:v9' not found: GET http://" +
                       host + "/v2/demo/busybox/manifests/v9: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown");
  }

  SECTION("corrupted blob") {
    write_auth_file(setup.dir / "auth.json", host, "alice", "correct-horse");
    fs::path blob = setup.server.blob_file(setup.image.layer_digest);
    std::string bytes = read_file(blob);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
    write(blob, bytes);

    std::string error = error_of([&] { Client(options).pull_image(setup.reference(), linux_amd64, store); });
    CHECK(error == "pulling '" + host + "/demo/busybox:v1': blob " + setup.image.layer_digest + " from http://" + host +
                       "/v2/demo/busybox/blobs/" + setup.image.layer_digest +
                       " does not match its digest: the content hashes to " + sha256_of(bytes).str());
    CHECK_FALSE(store.has_blob(Digest::parse(setup.image.layer_digest)));
  }
}

TEST_CASE("registry: unreachable registry", "[registry]") {
  int port = free_port();
  std::string host = cat("127.0.0.1:", port);
  registry::RegistryOptions options;
  options.hosts[host].insecure = true;
  options.max_attempts = 3;
  options.retry_delay = std::chrono::milliseconds(10);
  Client client(options);

  CapturedStderr captured;
  std::string error = error_of([&] { client.resolve(Reference::parse(host + "/demo/busybox:v1"), linux_amd64); });
  std::string log_text = captured.text();
  CHECK(error == "resolving '" + host + "/demo/busybox:v1': GET https://" + host +
                     "/v2/demo/busybox/manifests/v1: Couldn't connect to server after 3 attempts: check that registry '" +
                     host + "' is running and reachable");
  CHECK(log_text.find("imgbuild: warning: retrying GET https://" + host +
                      "/v2/demo/busybox/manifests/v1 after Couldn't connect to server (attempt 2 of 3, waiting 10 ms)") !=
        std::string::npos);
  CHECK(log_text.find("(attempt 3 of 3, waiting 20 ms)") != std::string::npos);
  CHECK(client.stats().retries == 2);
}

TEST_CASE("registry: tls is verified", "[registry]") {
  TempDir dir;
  TestRegistry https_server(dir / "https", {true, "", ""});
  TestRegistry http_server(dir / "http");
  Reference over_https = Reference::parse(https_server.host() + "/demo/none:v1");
  Reference over_http = Reference::parse(http_server.host() + "/demo/none:v1");

  // Without the CA the certificate is rejected; without the insecure flag a
  // plain-HTTP registry is rejected too, also on 127.0.0.1.
  Client strict;
  std::string untrusted = error_of([&] { strict.resolve(over_https, linux_amd64); });
  CHECK(untrusted == "resolving '" + https_server.host() + "/demo/none:v1': GET https://" + https_server.host() +
                         "/v2/demo/none/manifests/v1: SSL peer certificate or SSH remote key was not OK (SSL "
                         "certificate problem: unable to get local issuer certificate): set a CA file for '" +
                         https_server.host() + "' in the registry options, or mark it insecure if it serves plain HTTP");
  // The OpenSSL version is part of this message, so only its ends are fixed.
  std::string plain = error_of([&] { strict.resolve(over_http, linux_amd64); });
  CHECK(plain.starts_with("resolving '" + http_server.host() + "/demo/none:v1': GET https://" + http_server.host() +
                          "/v2/demo/none/manifests/v1: SSL connect error ("));
  CHECK(plain.find("wrong version number") != std::string::npos);
  CHECK(plain.ends_with("): set a CA file for '" + http_server.host() +
                        "' in the registry options, or mark it insecure if it serves plain HTTP"));

  // With the CA, and with the insecure flag, both respond with 404 (no such image).
  registry::RegistryOptions trusting = client_options(https_server);
  trusting.hosts[http_server.host()].insecure = true;
  Client client(trusting);
  CHECK(error_of([&] { client.resolve(over_https, linux_amd64); }) ==
        "resolving '" + https_server.host() + "/demo/none:v1': image '" + https_server.host() +
            "/demo/none:v1' not found: GET https://" + https_server.host() +
            "/v2/demo/none/manifests/v1: 404: MANIFEST_UNKNOWN: manifest unknown");
  CapturedStderr captured;
  CHECK(error_of([&] { client.resolve(over_http, linux_amd64); }) ==
        "resolving '" + http_server.host() + "/demo/none:v1': image '" + http_server.host() +
            "/demo/none:v1' not found: GET http://" + http_server.host() +
            "/v2/demo/none/manifests/v1: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown");
  CHECK(captured.text() == "imgbuild: warning: registry '" + http_server.host() +
                               "' failed the TLS handshake and is marked insecure: using plain HTTP\n");
}
