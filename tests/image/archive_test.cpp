// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/image/output.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/podman.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::image;
using namespace imgbuild::test;
using nlohmann::json;

namespace {

std::vector<std::string> tar_listing(const fs::path& file) {
  return split(run_checked({"tar", "-tvf", file.string(), "--numeric-owner"}), '\n');
}

std::vector<std::string> diff_ids_of(const Image& image) {
  std::vector<std::string> result;
  for (const auto& layer : image.layers) result.push_back(layer.diff_id.str());
  return result;
}

// An image of two layers (busybox, then a file) with a healthcheck.
Image healthy_image(store::Store& store, const fs::path& scratch, const std::string& message) {
  Image image = busybox_image(store, scratch, message);
  append_layer(image, store_file_layer(store, "etc/motd", "two layers\n", Compression::gzip, scratch / "motd"),
               {"copy: motd /etc/motd", "", ""});
  set_healthcheck(image.config, {{"CMD", "/bin/busybox", "test", "-f", "/etc/motd"}, 30'000'000'000, 5'000'000'000, 0, 2});
  return image;
}

}  // namespace

TEST_CASE("image: oci archive is deterministic", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "archive");
  SerializedManifest written = write_oci_archive(store, image, dir / "one.tar", {"localhost/backend:latest"});
  write_oci_archive(store, image, dir / "two.tar", {"localhost/backend:latest"});

  CHECK(read_file(dir / "one.tar") == read_file(dir / "two.tar"));

  // The same inputs built into another store give the same bytes.
  store::Store rebuilt_store = store::Store::open(dir / "rebuilt-store");
  Image rebuilt = busybox_image(rebuilt_store, dir / "rebuilt-scratch", "archive");
  CHECK(write_oci_archive(rebuilt_store, rebuilt, dir / "three.tar", {"localhost/backend:latest"}).manifest.digest ==
        written.manifest.digest);
  CHECK(read_file(dir / "one.tar") == read_file(dir / "three.tar"));
  std::vector<std::string> expected = {
      "drwxr-xr-x 0/0               0 1970-01-01 00:00 blobs/",
      "drwxr-xr-x 0/0               0 1970-01-01 00:00 blobs/sha256/",
  };
  std::vector<std::string> listing = tar_listing(dir / "one.tar");
  REQUIRE(listing.size() >= 7);
  CHECK(std::vector<std::string>(listing.begin(), listing.begin() + 2) == expected);
  CHECK(ends_with(listing[5], " index.json"));
  CHECK(ends_with(listing[6], " oci-layout"));

  fs::create_directories(dir / "unpacked");
  run_checked({"tar", "-xf", (dir / "one.tar").string(), "-C", (dir / "unpacked").string()});
  json index = read_json(dir / "unpacked/index.json");
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "localhost/backend:latest");
  CHECK(index["manifests"][0]["digest"] == written.manifest.digest.str());
  ProcessResult validate = run_process({"oci-image-tool", "validate", "--type", "image", (dir / "unpacked").string()});
  INFO(validate.out << validate.err);
  CHECK(validate.exit_code == 0);

  // The reader finds it by full name or by tag alone.
  store::Store other = store::Store::open(dir / "other-store");
  CHECK(load_oci_archive(other, dir / "one.tar", "localhost/backend:latest").manifest_digest == written.manifest.digest);
  CHECK(load_oci_archive(other, dir / "one.tar", "latest").manifest_digest == written.manifest.digest);
}

TEST_CASE("image: docker archive layout", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = healthy_image(store, dir / "scratch", "docker");
  fs::path file = dir / "app.tar";
  SerializedManifest written = write_docker_archive(store, image, file, {"localhost/backend", "localhost/backend:1.0"});
  fs::create_directories(dir / "unpacked");
  run_checked({"tar", "-xf", file.string(), "-C", (dir / "unpacked").string()});

  json manifest = read_json(dir / "unpacked/manifest.json");
  REQUIRE(manifest.size() == 1);
  CHECK(manifest[0]["Config"] == "blobs/sha256/" + written.config.digest.hex);
  CHECK(manifest[0]["RepoTags"] == json({"localhost/backend:latest", "localhost/backend:1.0"}));
  CHECK(manifest[0]["Layers"] == json({"blobs/sha256/" + image.layers[0].blob.digest.hex,
                                       "blobs/sha256/" + image.layers[1].blob.digest.hex}));
  CHECK(read_json(dir / "unpacked/repositories") ==
        json({{"localhost/backend", {{"latest", image.layers[1].blob.digest.hex}, {"1.0", image.layers[1].blob.digest.hex}}}}));
  json config = read_json(dir / "unpacked/blobs/sha256" / written.config.digest.hex);
  CHECK(config["config"]["Healthcheck"]["Test"] == json({"CMD", "/bin/busybox", "test", "-f", "/etc/motd"}));
  CHECK(config["config"]["Healthcheck"]["Interval"] == 30'000'000'000);

  // skopeo reads it and checks every layer against the config's diff_ids.
  ProcessResult copy = run_process({"skopeo", "copy", "docker-archive:" + file.string(), "oci:" + (dir / "fresh").string() + ":x"});
  INFO(copy.err);
  CHECK(copy.exit_code == 0);

  CHECK_THROWS_WITH(write_docker_archive(store, image, dir / "bad.tar", {"app@sha256:" + std::string(64, 'a')}),
                    Catch::Contains("docker-archive names take a tag, not a digest"));
  CHECK_FALSE(fs::exists(dir / "bad.tar"));
}

TEST_CASE("image: zstd layers need the oci format", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "zstd", Compression::zstd);
  CHECK_THROWS_WITH(write_docker_archive(store, image, dir / "app.tar", {"app"}),
                    Catch::Contains("layer compression 'zstd' cannot be written with image format 'docker'"));
  CHECK_THROWS_WITH(serialize(image, Format::docker), Catch::Contains("use format 'oci' or compression 'gzip'"));
  CHECK_FALSE(fs::exists(dir / "app.tar"));
}

TEST_CASE("image: docker archive and oci layout agree", "[image]") {
  // skopeo writes both forms of one image: a classic docker-archive with
  // plain tar layers, and an OCI layout with gzip layers.
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = healthy_image(store, dir / "scratch", "agree");
  write_oci_layout(store, image, dir / "source", {"v1"});
  run_checked({"skopeo", "copy", "oci:" + (dir / "source").string() + ":v1",
               "docker-archive:" + (dir / "app.tar").string() + ":localhost/agree:v1"});
  run_checked({"skopeo", "copy", "oci:" + (dir / "source").string() + ":v1", "oci:" + (dir / "copy").string() + ":v1"});

  store::Store from_archive = store::Store::open(dir / "archive-store");
  store::Store from_layout = store::Store::open(dir / "layout-store");
  Image archived = load_docker_archive(from_archive, dir / "app.tar", "localhost/agree:v1");
  Image laid_out = load_oci_layout(from_layout, dir / "copy", "v1");

  CHECK(diff_ids_of(archived) == diff_ids_of(image));
  CHECK(diff_ids_of(laid_out) == diff_ids_of(image));
  // docker-archive layers are plain tars: the blob digest is the diff_id.
  CHECK(archived.layers[0].blob.digest == archived.layers[0].diff_id);
  CHECK(archived.layers[0].blob.media_type == media_type::oci_layer_tar);
  CHECK(laid_out.layers[0].blob.media_type == media_type::oci_layer_gzip);
  CHECK(archived.config["rootfs"] == laid_out.config["rootfs"]);

  SECTION("names as docker and podman write them") {
    CHECK_NOTHROW(load_docker_archive(from_archive, dir / "app.tar", "agree:v1"));
    CHECK_NOTHROW(load_docker_archive(from_archive, dir / "app.tar", ""));
    CHECK_THROWS_WITH(load_docker_archive(from_archive, dir / "app.tar", "agree:v2"),
                      Catch::Contains("no image named 'agree:v2'") && Catch::Contains("'localhost/agree:v1'"));
  }
  SECTION("our own archive reads back") {
    write_docker_archive(store, image, dir / "ours.tar", {"localhost/agree:v1"});
    store::Store third = store::Store::open(dir / "third-store");
    Image ours = load_docker_archive(third, dir / "ours.tar", "localhost/agree:v1");
    CHECK(diff_ids_of(ours) == diff_ids_of(image));
    CHECK(ours.layers[0].blob.digest == image.layers[0].blob.digest);
    CHECK(ours.config["config"]["Healthcheck"] == image.config["config"]["Healthcheck"]);
  }
}

TEST_CASE("image: docker archive reader checks layers", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "tamper");
  write_oci_layout(store, image, dir / "source", {"v1"});
  run_checked({"skopeo", "copy", "oci:" + (dir / "source").string() + ":v1",
               "docker-archive:" + (dir / "app.tar").string() + ":localhost/tamper:v1"});
  fs::path unpacked = dir / "unpacked";
  fs::create_directories(unpacked);
  run_checked({"tar", "-xf", (dir / "app.tar").string(), "-C", unpacked.string()});

  // Replace the layer with another tar under the same name.
  std::string layer_name = read_json(unpacked / "manifest.json")[0]["Layers"][0];
  fs::path layer = unpacked / layer_name;
  fs::remove(layer);
  fs::create_directories(dir / "other");
  test::write(dir / "other/file", "not busybox\n");
  run_checked({"tar", "-C", (dir / "other").string(), "-cf", layer.string(), "."});
  run_checked({"tar", "-C", unpacked.string(), "-cf", (dir / "tampered.tar").string(), "."});

  store::Store other = store::Store::open(dir / "other-store");
  CHECK_THROWS_WITH(load_docker_archive(other, dir / "tampered.tar", ""),
                    Catch::StartsWith("reading docker-archive") &&
                        Catch::Contains("blob sha256:" + layer_name.substr(0, 64)) &&
                        Catch::Contains("has digest"));
}

TEST_CASE("image: podman loads and runs our images", "[image][slow]") {
  if (!is_root()) {
    WARN("skipped: podman run needs root here");
    return;
  }
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  PodmanSandbox podman(dir.path());
  Image image = healthy_image(store, dir / "scratch", "hello from imgbuild");

  SECTION("docker archive, with healthcheck") {
    write_docker_archive(store, image, dir / "app.tar", {"localhost/backend:latest"});
    ProcessResult load = podman.run({"load", "-i", (dir / "app.tar").string()});
    INFO(load.err);
    REQUIRE(load.exit_code == 0);
    CHECK(load.out.find("Loaded image: localhost/backend:latest") != std::string::npos);

    ProcessResult run = podman.run({"run", "--rm", "--network", "none", "localhost/backend:latest"});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.out == "hello from imgbuild\n");

    ProcessResult start = podman.run({"run", "-d", "--name", "hc", "--network", "none", "localhost/backend:latest",
                                      "/bin/busybox", "sleep", "60"});
    INFO(start.err);
    REQUIRE(start.exit_code == 0);
    ProcessResult health = podman.run({"healthcheck", "run", "hc"});
    INFO(health.out << health.err);
    CHECK(health.exit_code == 0);
    ProcessResult status = podman.run({"inspect", "--format", "{{.State.Health.Status}}", "hc"});
    CHECK(trim(status.out) == "healthy");
  }
  SECTION("oci archive named by its full reference") {
    write_oci_archive(store, image, dir / "app.tar", {"localhost/frontend:2.0"});
    ProcessResult load = podman.run({"load", "-i", (dir / "app.tar").string()});
    INFO(load.err);
    REQUIRE(load.exit_code == 0);
    CHECK(load.out.find("Loaded image: localhost/frontend:2.0") != std::string::npos);
    ProcessResult run = podman.run({"run", "--rm", "--network", "none", "localhost/frontend:2.0"});
    CHECK(run.out == "hello from imgbuild\n");
  }
  SECTION("load_into_engine honours CONTAINERS_CONF") {
    ScopedEnv env(podman.env());
    std::string output = load_into_engine(store, image, "localhost/loaded:3", Engine::podman);
    CHECK(output.find("Loaded image: localhost/loaded:3") != std::string::npos);
    ProcessResult run = podman.run({"run", "--rm", "--network", "none", "localhost/loaded:3"});
    CHECK(run.out == "hello from imgbuild\n");
  }
  SECTION("podman save output reads back") {
    write_docker_archive(store, image, dir / "app.tar", {"localhost/saved:1"});
    REQUIRE(podman.run({"load", "-i", (dir / "app.tar").string()}).exit_code == 0);
    for (std::string format : {"docker-archive", "oci-archive"}) {
      fs::path saved = dir / (format + ".tar");
      ProcessResult save = podman.run({"save", "--format", format, "-o", saved.string(), "localhost/saved:1"});
      INFO(save.err);
      REQUIRE(save.exit_code == 0);
      store::Store other = store::Store::open(dir / (format + "-store"));
      Image loaded = format == "docker-archive" ? load_docker_archive(other, saved, "saved:1")
                                                : load_oci_archive(other, saved, "");
      CHECK(diff_ids_of(loaded) == diff_ids_of(image));
    }
  }
}

TEST_CASE("image: classic docker save layout", "[image]") {
  // Older `docker save` names layers "<id>/layer.tar", an id that is not a
  // digest. skopeo writes those as symlinks beside its "<hex>.tar" files.
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "classic");
  write_oci_layout(store, image, dir / "source", {"v1"});
  run_checked({"skopeo", "copy", "oci:" + (dir / "source").string() + ":v1",
               "docker-archive:" + (dir / "app.tar").string() + ":classic:v1"});
  fs::path unpacked = dir / "unpacked";
  fs::create_directories(unpacked);
  run_checked({"tar", "-xf", (dir / "app.tar").string(), "-C", unpacked.string()});

  json repositories = read_json(unpacked / "repositories");
  std::string id = repositories.begin().value().begin().value();
  REQUIRE(fs::is_symlink(unpacked / id / "layer.tar"));
  json manifest = read_json(unpacked / "manifest.json");
  manifest[0]["Layers"] = {id + "/layer.tar"};
  test::write(unpacked / "manifest.json", manifest.dump());
  run_checked({"tar", "-C", unpacked.string(), "-cf", (dir / "classic.tar").string(), "."});

  store::Store other = store::Store::open(dir / "other-store");
  Image loaded = load_docker_archive(other, dir / "classic.tar", "docker.io/library/classic:v1");
  REQUIRE(loaded.layers.size() == 1);
  CHECK(loaded.layers[0].diff_id == image.layers[0].diff_id);
  CHECK(loaded.layers[0].blob.digest == image.layers[0].diff_id);
}
