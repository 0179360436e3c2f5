// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/registry/lock.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/strings.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using registry::LockFile;
using registry::LockMode;
using registry::Reference;

namespace {

std::string lock_text(const std::string& key, const std::string& digest) {
  return "{\n  \"bases\": {\n    \"" + key + "\": \"" + digest + "\"\n  },\n  \"lockVersion\": 1\n}\n";
}

}  // namespace

TEST_CASE("registry: lock file pins, locks and refreshes", "[registry]") {
  TempDir dir;
  TestRegistry server(dir / "registry");
  TestImage first = write_busybox_layout(dir / "layout", "first", {{"amd64"}, "first"});
  TestImage second = write_busybox_layout(dir / "layout", "second", {{"amd64"}, "second"});
  REQUIRE(first.manifest_digest != second.manifest_digest);
  copy_to_registry(server, dir / "layout", "first", "demo/base:v1");

  registry::Client client(client_options(server));
  const Reference base = Reference::parse(server.host() + "/demo/base:v1");
  const std::string key = server.host() + "/demo/base:v1";
  const fs::path path = LockFile::path_for(dir / "recipes/app.toml");
  CHECK(path == dir / "recipes/imgbuild.lock");
  fs::create_directories(dir / "recipes");

  // A new tag is resolved and pinned.
  LockFile lock = LockFile::load(path);
  CHECK(lock.pins().empty());
  Reference pinned = registry::pin_base(client, lock, base, linux_amd64, LockMode::normal);
  CHECK(pinned.str() == key + "@" + first.manifest_digest);
  CHECK(lock.changed());
  lock.save();
  CHECK_FALSE(lock.changed());
  CHECK(read_file(path) == lock_text(key, first.manifest_digest));

  // The tag moves. Without --pull the pin wins and the old image is pulled by digest.
  copy_to_registry(server, dir / "layout", "second", "demo/base:v1");
  LockFile reloaded = LockFile::load(path);
  Reference kept = registry::pin_base(client, reloaded, base, linux_amd64, LockMode::normal);
  CHECK(kept.digest->str() == first.manifest_digest);
  CHECK_FALSE(reloaded.changed());
  store::Store store = store::Store::open(dir / "store");
  CHECK(client.pull_image(kept, linux_amd64, store).manifest_digest->str() == first.manifest_digest);

  // --locked reports the tag and both digests and leaves the file alone.
  std::string before = read_file(path);
  CHECK(error_of([&] { registry::pin_base(client, reloaded, base, linux_amd64, LockMode::locked); }) ==
        "base '" + key + "' is pinned to " + first.manifest_digest + " in '" + path.string() +
            "' but the tag now resolves to " + second.manifest_digest + ": run with --pull to update the pin");
  CHECK_FALSE(reloaded.changed());
  reloaded.save();
  CHECK(read_file(path) == before);

  // --pull moves the pin; --locked then agrees with it.
  Reference refreshed = registry::pin_base(client, reloaded, base, linux_amd64, LockMode::refresh);
  CHECK(refreshed.digest->str() == second.manifest_digest);
  reloaded.save();
  CHECK(read_file(path) == lock_text(key, second.manifest_digest));
  LockFile locked = LockFile::load(path);
  CHECK(registry::pin_base(client, locked, base, linux_amd64, LockMode::locked).digest->str() ==
        second.manifest_digest);
  CHECK_FALSE(locked.changed());
}

TEST_CASE("registry: locked mode rejects new tags", "[registry]") {
  TempDir dir;
  TestRegistry server(dir / "registry");
  write_busybox_layout(dir / "layout", "first");
  copy_to_registry(server, dir / "layout", "first", "demo/base:v1");
  registry::Client client(client_options(server));
  LockFile lock = LockFile::load(dir / "imgbuild.lock");
  const std::string key = server.host() + "/demo/base:v1";

  CHECK(error_of([&] {
          registry::pin_base(client, lock, Reference::parse(key), linux_amd64, LockMode::locked);
        }) == "base '" + key + "' has no pin in '" + (dir / "imgbuild.lock").string() +
                  "' and --locked forbids adding one: run once without --locked to pin it");
  CHECK_FALSE(lock.changed());
  CHECK_FALSE(fs::exists(dir / "imgbuild.lock"));

  // A reference with a digest needs no pin.
  Reference by_digest = Reference::parse(key + "@sha256:" + std::string(64, 'a'));
  CHECK(registry::pin_base(client, lock, by_digest, linux_amd64, LockMode::locked) == by_digest);
}

TEST_CASE("registry: lock file errors", "[registry]") {
  TempDir dir;
  fs::path path = dir / "imgbuild.lock";
  const std::string where = "lock file '" + path.string() + "'";

  write(path, "[1, 2");
  CHECK(error_of([&] { LockFile::load(path); }) ==
        where + " is not valid JSON: fix it, or delete it to pin every base again");
  write(path, R"({"lockVersion": 2, "bases": {}})");
  CHECK(error_of([&] { LockFile::load(path); }) ==
        where + " has lockVersion 2 but this imgbuild reads version 1: delete it to pin every base again");
  write(path, R"({"lockVersion": 1, "bases": {"debian:bookworm": "sha256:12"}})");
  CHECK(error_of([&] { LockFile::load(path); }) ==
        where + ": pin of 'debian:bookworm': invalid digest 'sha256:12': expected 'sha256:' followed by 64 "
                "lower-case hex digits");
  write(path, R"({"lockVersion": 1, "bases": {"Debian": "sha256:12"}})");
  CHECK(error_of([&] { LockFile::load(path); }) ==
        where + ": pin of 'Debian': invalid image reference 'Debian': repository name must be lower-case");

  // Keys are normalized, so "debian:bookworm" and its full form are one pin.
  write(path, R"({"lockVersion": 1, "bases": {"debian:bookworm": "sha256:)" + std::string(64, 'b') + R"("}})");
  LockFile lock = LockFile::load(path);
  REQUIRE(lock.find(Reference::parse("docker.io/library/debian:bookworm")));
  CHECK(lock.find(Reference::parse("docker.io/library/debian:bookworm"))->hex == std::string(64, 'b'));
  CHECK_FALSE(lock.find(Reference::parse("debian:trixie")));
}
