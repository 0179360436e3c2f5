// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using registry::Client;
using registry::Reference;

namespace {

// A store holding the busybox test image, and the request that pushes it.
struct PushSetup {
  TempDir dir;
  TestImage image;
  store::Store store;

  PushSetup()
      : image(write_busybox_layout(dir / "layout", "v1")), store(store::Store::open(dir / "store")) {
    for (const auto& digest : {image.config_digest, image.layer_digest, image.manifest_digest})
      store.ingest_file(dir / "layout/blobs/sha256" / Digest::parse(digest).hex, Digest::parse(digest));
  }

  registry::PushRequest request(const std::string& reference) const {
    registry::PushRequest push;
    push.reference = Reference::parse(reference);
    push.manifest = image.manifest;
    push.manifest_media_type = image::media_type::oci_manifest;
    push.config = descriptor(image::media_type::oci_config, image.config_digest);
    push.layers = {descriptor(image::media_type::oci_layer_gzip, image.layer_digest)};
    return push;
  }

  image::Descriptor descriptor(const char* media_type, const std::string& digest) const {
    image::Descriptor result;
    result.media_type = media_type;
    result.digest = Digest::parse(digest);
    result.size = static_cast<std::int64_t>(fs::file_size(store.blob_path(result.digest)));
    return result;
  }
};

// Returns the manifest digest skopeo reads back for `reference`.
std::string skopeo_digest(const TestRegistry& server, const std::string& reference) {
  std::vector<std::string> argv = {"skopeo", "inspect", "--raw"};
  for (auto& flag : server.skopeo_flags("")) argv.push_back(flag);
  argv.push_back("docker://" + reference);
  return sha256_of(run_checked(argv)).str();
}

// Copies `reference` into a fresh OCI layout, which checks every blob digest.
void skopeo_copy_back(const TestRegistry& server, const std::string& reference, const fs::path& layout) {
  std::vector<std::string> argv = {"skopeo", "copy", "--quiet", "--preserve-digests"};
  for (auto& flag : server.skopeo_flags("src")) argv.push_back(flag);
  argv.push_back("docker://" + reference);
  argv.push_back("oci:" + layout.string() + ":back");
  run_checked(argv);
}

}  // namespace

TEST_CASE("registry: push and read back", "[registry]") {
  PushSetup setup;
  TestRegistry server(setup.dir / "registry");
  const std::string name = server.host() + "/demo/pushed";
  registry::PushRequest request = setup.request(name + ":v1");
  request.tags = {"v2", "latest"};

  Client client(client_options(server));
  std::vector<registry::TransferProgress> reports;
  registry::PushResult result =
      client.push(setup.store, request, [&](const registry::TransferProgress& p) { reports.push_back(p); });
  CHECK(result.manifest_digest.str() == setup.image.manifest_digest);
  CHECK(result.references == std::vector<std::string>{name + ":v1", name + ":v2", name + ":latest"});
  CHECK(client.stats().blobs_uploaded == 2);
  CHECK(client.stats().blobs_skipped == 0);
  REQUIRE(reports.size() >= 2);
  CHECK(reports.back().done);
  CHECK(reports.back().digest.str() == setup.image.layer_digest);

  for (const auto& tag : {"v1", "v2", "latest"}) CHECK(skopeo_digest(server, name + ":" + tag) == setup.image.manifest_digest);
  skopeo_copy_back(server, name + ":v2", setup.dir / "back");
  CHECK(read_file(setup.dir / "back/blobs/sha256" / Digest::parse(setup.image.manifest_digest).hex) ==
        setup.image.manifest);

  // The registry has every blob now: the second push only checks with HEAD.
  Client second(client_options(server));
  second.push(setup.store, request);
  CHECK(second.stats().blobs_uploaded == 0);
  CHECK(second.stats().bytes_uploaded == 0);
  CHECK(second.stats().blobs_skipped == 2);
  // 2 HEAD requests and 3 manifest PUTs, after one failed TLS attempt.
  CHECK(second.stats().requests == 6);
}

TEST_CASE("registry: chunked upload", "[registry]") {
  PushSetup setup;
  TestRegistry server(setup.dir / "registry", {true, "", ""});
  registry::RegistryOptions options = client_options(server);
  options.chunk_threshold = 1000;  // the config goes in one PUT, the layer in chunks
  options.chunk_size = 100'000;
  Client client(options);

  const std::string reference = server.host() + "/demo/chunked:v1";
  client.push(setup.store, setup.request(reference));
  CHECK(client.stats().blobs_uploaded == 2);
  std::uint64_t patches = (setup.image.layer_size + 99'999) / 100'000;
  REQUIRE(patches >= 5);
  // HEAD x2, POST x2, config PUT, layer PATCHes and final PUT, manifest PUT.
  CHECK(client.stats().requests == 2 + 2 + 1 + patches + 1 + 1);
  CHECK(skopeo_digest(server, reference) == setup.image.manifest_digest);
  skopeo_copy_back(server, reference, setup.dir / "back");
  CHECK(sha256_of_file(setup.dir / "back/blobs/sha256" / Digest::parse(setup.image.layer_digest).hex).str() ==
        setup.image.layer_digest);
}

TEST_CASE("registry: cross-repository mount", "[registry]") {
  PushSetup setup;
  TestRegistry server(setup.dir / "registry");
  Client client(client_options(server));
  client.push(setup.store, setup.request(server.host() + "/demo/source:v1"));

  registry::PushRequest request = setup.request(server.host() + "/demo/target:v1");
  request.mount_from = Reference::parse(server.host() + "/demo/source:v1");
  Client second(client_options(server));
  second.push(setup.store, request);
  CHECK(second.stats().blobs_mounted == 2);
  CHECK(second.stats().blobs_uploaded == 0);
  CHECK(skopeo_digest(server, server.host() + "/demo/target:v1") == setup.image.manifest_digest);
}

TEST_CASE("registry: push with docker config credentials", "[registry]") {
  PushSetup setup;
  TestRegistry server(setup.dir / "registry", {true, "pusher", "push-pass-42"});
  ScopedEnv no_auth_file("REGISTRY_AUTH_FILE", std::nullopt);
  ScopedEnv no_runtime("XDG_RUNTIME_DIR", std::nullopt);
  ScopedEnv home("HOME", (setup.dir / "home").string());
  ScopedEnv docker_config("DOCKER_CONFIG", (setup.dir / "docker").string());
  const std::string reference = server.host() + "/demo/private:v1";
  const fs::path config_file = setup.dir / "docker/config.json";

  SECTION("right password") {
    write_auth_file(config_file, server.host(), "pusher", "push-pass-42");
    Client client(client_options(server));
    client.push(setup.store, setup.request(reference));
    CHECK(client.stats().blobs_uploaded == 2);
    CHECK(skopeo_digest(server, reference) == setup.image.manifest_digest);
  }

  SECTION("wrong password") {
    write_auth_file(config_file, server.host(), "pusher", "not-the-pass");
    log::set_verbose(true);
    CapturedStderr captured;
    std::string error = error_of([&] { Client(client_options(server)).push(setup.store, setup.request(reference)); });
    std::string log_text = captured.text();
    log::set_verbose(false);
    CHECK(error == "pushing '" + reference + "': registry '" + server.host() +
                       "' rejected the credentials of user 'pusher' from '" + config_file.string() +
                       "' for 'repository:demo/private:pull': check the user and password, or log in with 'podman "
                       "login " + server.host() + "' or point the registry auth file option at a file with credentials");
    CHECK(log_text.find("HEAD https://" + server.host() + "/v2/demo/private/blobs/") != std::string::npos);
    CHECK(error.find("not-the-pass") == std::string::npos);
    CHECK(log_text.find("not-the-pass") == std::string::npos);
    CHECK(log_text.find(registry::base64_encode("pusher:not-the-pass")) == std::string::npos);
  }
}

TEST_CASE("registry: push errors", "[registry]") {
  PushSetup setup;
  TestRegistry server(setup.dir / "registry");
  Client client(client_options(server));
  const std::string reference = server.host() + "/demo/broken:v1";

  registry::PushRequest wrong_digest = setup.request(reference + "@sha256:" + std::string(64, '0'));
  CHECK(error_of([&] { client.push(setup.store, wrong_digest); }) ==
        "pushing '" + reference + "@sha256:" + std::string(64, '0') + "': the reference names digest sha256:" +
            std::string(64, '0') + " but the manifest hashes to " + setup.image.manifest_digest);

  registry::PushRequest missing = setup.request(reference);
  missing.layers[0].digest = sha256_of("not in the store");
  CHECK(error_of([&] { client.push(setup.store, missing); }) ==
        "pushing '" + reference + "': blob " + sha256_of("not in the store").str() + " is not in the store at " +
            cat(setup.store.root()));
}
