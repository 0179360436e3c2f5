// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "fixtures.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::image;
using nlohmann::json;
using namespace imgbuild::test;

namespace {

// inode and mtime of every file below `dir`, to prove nothing was rewritten.
std::map<std::string, std::pair<ino_t, std::int64_t>> file_stamps(const fs::path& dir) {
  std::map<std::string, std::pair<ino_t, std::int64_t>> stamps;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    struct stat st{};
    REQUIRE(::lstat(entry.path().c_str(), &st) == 0);
    stamps[fs::relative(entry.path(), dir).string()] = {st.st_ino, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
  }
  return stamps;
}

std::string ref_name(const json& descriptor) { return descriptor["annotations"]["org.opencontainers.image.ref.name"]; }

}  // namespace

TEST_CASE("image: layout with two tags", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "hello from the layout");
  fs::path out = dir / "out";

  SerializedManifest written = write_oci_layout(store, image, out, {"1.0", "latest"});

  CHECK(read_file(out / "oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  json index = read_json(out / "index.json");
  CHECK(index["schemaVersion"] == 2);
  CHECK(index["mediaType"] == media_type::oci_index);
  REQUIRE(index["manifests"].size() == 2);
  CHECK(ref_name(index["manifests"][0]) == "1.0");
  CHECK(ref_name(index["manifests"][1]) == "latest");
  CHECK(index["manifests"][0]["annotations"].size() == 1);
  for (const auto& descriptor : index["manifests"]) {
    CHECK(descriptor["digest"] == written.manifest.digest.str());
    CHECK(descriptor["mediaType"] == media_type::oci_manifest);
    CHECK(descriptor["size"] == written.manifest_bytes.size());
  }

  // Every blob the manifest names is in blobs/sha256 with its digest.
  CHECK(sha256_of_file(out / "blobs/sha256" / written.manifest.digest.hex) == written.manifest.digest);
  CHECK(sha256_of_file(out / "blobs/sha256" / written.config.digest.hex) == written.config.digest);
  for (const auto& layer : written.layers) CHECK(sha256_of_file(out / "blobs/sha256" / layer.digest.hex) == layer.digest);
  std::size_t blob_count = std::distance(fs::directory_iterator(out / "blobs/sha256"), fs::directory_iterator());
  CHECK(blob_count == 3);

  ProcessResult validate = run_process({"oci-image-tool", "validate", "--type", "image", out.string()});
  INFO(validate.out << validate.err);
  CHECK(validate.exit_code == 0);

  ProcessResult unpack = run_process({"umoci", "unpack", "--image", (out.string() + ":1.0"), (dir / "bundle").string()});
  INFO(unpack.err);
  REQUIRE(unpack.exit_code == 0);
  CHECK(fs::is_regular_file(dir / "bundle/rootfs/bin/busybox"));
  CHECK(fs::is_symlink(dir / "bundle/rootfs/bin/sh"));

  ProcessResult inspect = run_process({"skopeo", "inspect", "oci:" + out.string() + ":latest"});
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  json inspected = json::parse(inspect.out);
  CHECK(inspected["Digest"] == written.manifest.digest.str());
  CHECK(inspected["Layers"] == json({written.layers[0].digest.str()}));

  // skopeo checks every blob digest when copying to a fresh layout.
  ProcessResult copy = run_process({"skopeo", "copy", "oci:" + out.string() + ":latest", "oci:" + (dir / "fresh").string() + ":x"});
  INFO(copy.err);
  CHECK(copy.exit_code == 0);
}

TEST_CASE("image: layout keeps other images", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image first = busybox_image(store, dir / "scratch", "first");
  Image second = busybox_image(store, dir / "scratch", "second");
  fs::path out = dir / "out";

  SerializedManifest one = write_oci_layout(store, first, out, {"a", "shared"});
  SerializedManifest two = write_oci_layout(store, second, out, {"b", "shared"});

  json index = read_json(out / "index.json");
  REQUIRE(index["manifests"].size() == 3);
  CHECK(ref_name(index["manifests"][0]) == "a");
  CHECK(index["manifests"][0]["digest"] == one.manifest.digest.str());
  // The moved tag stays where it was and now points at the second image.
  CHECK(ref_name(index["manifests"][1]) == "shared");
  CHECK(index["manifests"][1]["digest"] == two.manifest.digest.str());
  CHECK(ref_name(index["manifests"][2]) == "b");
  CHECK(fs::exists(out / "blobs/sha256" / one.manifest.digest.hex));

  ProcessResult unpack = run_process({"umoci", "unpack", "--image", out.string() + ":a", (dir / "bundle").string()});
  INFO(unpack.err);
  CHECK(unpack.exit_code == 0);
}

TEST_CASE("image: cached layout write changes nothing", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "cached");
  fs::path out = dir / "out";
  write_oci_layout(store, image, out, {"latest"});
  auto before = file_stamps(out);

  write_oci_layout(store, image, out, {"latest"});

  CHECK(file_stamps(out) == before);
}

TEST_CASE("image: layout replaces a corrupt blob", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "repair");
  fs::path out = dir / "out";
  SerializedManifest written = write_oci_layout(store, image, out, {"latest"});
  fs::path config = out / "blobs/sha256" / written.config.digest.hex;
  fs::remove(config);
  test::write(config, "garbage");

  write_oci_layout(store, image, out, {"latest"});

  CHECK(sha256_of_file(config) == written.config.digest);
}

TEST_CASE("image: layout rejects a corrupt store blob", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "corrupt");
  fs::path blob = store.blob_path(image.layers[0].blob.digest);
  ::chmod(blob.c_str(), 0644);
  std::string bytes = read_file(blob);
  bytes[bytes.size() / 2] ^= 0x55;
  test::write(blob, bytes);

  CHECK_THROWS_WITH(write_oci_layout(store, image, dir / "out", {"latest"}),
                    Catch::Contains(image.layers[0].blob.digest.str()) && Catch::Contains(blob.string()));
  CHECK_FALSE(fs::exists(dir / "out/index.json"));
}

TEST_CASE("image: layout round trip through the store", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Compression compression = GENERATE(Compression::gzip, Compression::zstd, Compression::none);
  Image image = busybox_image(store, dir / "scratch", "round trip", compression);
  set_image_annotations(image, {"scratch", "", "", ""});
  SerializedManifest written = write_oci_layout(store, image, dir / "out", {"v1"});

  store::Store other = store::Store::open(dir / "other-store");
  Image loaded = load_oci_layout(other, dir / "out", "v1");

  CHECK(loaded.manifest_digest == written.manifest.digest);
  CHECK(canonical_json(loaded.config) == written.config_bytes);
  REQUIRE(loaded.layers.size() == 1);
  CHECK(loaded.layers[0].diff_id == image.layers[0].diff_id);
  CHECK(loaded.layers[0].blob.digest == image.layers[0].blob.digest);
  CHECK(loaded.layers[0].blob.media_type == image.layers[0].blob.media_type);
  CHECK(loaded.layers[0].uncompressed_size == image.layers[0].uncompressed_size);
  CHECK(other.has_blob(written.config.digest));
  CHECK(other.has_blob(image.layers[0].blob.digest));
  auto record = other.find_layer(image.layers[0].diff_id);
  REQUIRE(record);
  CHECK(record->blobs.at(std::string(compression_name(compression))).digest == image.layers[0].blob.digest);

  // Looking it up by manifest digest finds the same image.
  CHECK(load_oci_layout(other, dir / "out", written.manifest.digest.str()).manifest_digest == written.manifest.digest);
}

TEST_CASE("image: layout reader checks blobs", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "checks");
  fs::path out = dir / "out";
  SerializedManifest written = write_oci_layout(store, image, out, {"v1", "v2"});
  store::Store other = store::Store::open(dir / "other-store");

  SECTION("unknown tag") {
    CHECK_THROWS_WITH(load_oci_layout(other, out, "v3"),
                      Catch::Contains("no image named 'v3' in") && Catch::Contains("it holds: 'v1', 'v2'"));
  }
  SECTION("several images and no tag") {
    CHECK_THROWS_WITH(load_oci_layout(other, out, ""), Catch::Contains("holds 2 images; name one of them"));
  }
  SECTION("corrupt layer") {
    fs::path layer = out / "blobs/sha256" / written.layers[0].digest.hex;
    std::string bytes = read_file(layer);
    bytes[bytes.size() / 2] ^= 0x55;
    fs::remove(layer);
    test::write(layer, bytes);
    CHECK_THROWS_WITH(load_oci_layout(other, out, "v1"),
                      Catch::StartsWith("reading OCI layout") &&
                          Catch::Contains("blob " + written.layers[0].digest.str() + " at '" + layer.string()));
    CHECK_FALSE(other.has_blob(written.layers[0].digest));
  }
  SECTION("missing config") {
    fs::remove(out / "blobs/sha256" / written.config.digest.hex);
    CHECK_THROWS_WITH(load_oci_layout(other, out, "v1"),
                      Catch::Contains("'blobs/sha256/" + written.config.digest.hex + "' is missing from"));
  }
  SECTION("diff_id mismatch") {
    // A config whose diff_id does not describe the layer, under a valid digest.
    json config = json::parse(written.config_bytes);
    config["rootfs"]["diff_ids"][0] = "sha256:" + std::string(64, '0');
    Image forged = image;
    forged.config = config;
    forged.layers[0].diff_id = Digest{std::string(64, '0')};
    write_oci_layout(store, forged, out, {"forged"});
    CHECK_THROWS_WITH(load_oci_layout(other, out, "forged"),
                      Catch::Contains("has diff_id " + image.layers[0].diff_id.str()) &&
                          Catch::Contains("but the image config lists sha256:" + std::string(64, '0')));
  }
}

TEST_CASE("image: layout index resolves the platform", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image amd64 = busybox_image(store, dir / "scratch", "amd64");
  Image arm64 = busybox_image(store, dir / "scratch", "arm64");
  set_platform(arm64.config, Platform{"linux", "arm64", "v8"});
  fs::path out = dir / "out";
  SerializedManifest one = write_oci_layout(store, amd64, out, {"amd64"});
  SerializedManifest two = write_oci_layout(store, arm64, out, {"arm64"});

  // A nested index naming both, tagged "multi" at the top level.
  json nested = {{"schemaVersion", 2}, {"mediaType", media_type::oci_index}, {"manifests", json::array()}};
  Descriptor first = one.manifest;
  first.platform = Platform{"linux", "amd64", ""};
  Descriptor second = two.manifest;
  second.platform = Platform{"linux", "arm64", ""};
  nested["manifests"].push_back(descriptor_json(second));
  nested["manifests"].push_back(descriptor_json(first));
  std::string nested_bytes = canonical_json(nested);
  Digest nested_digest = sha256_of(nested_bytes);
  test::write(out / "blobs/sha256" / nested_digest.hex, nested_bytes);
  json index = read_json(out / "index.json");
  index["manifests"].push_back({{"mediaType", media_type::oci_index},
                                {"digest", nested_digest.str()},
                                {"size", nested_bytes.size()},
                                {"annotations", {{"org.opencontainers.image.ref.name", "multi"}}}});
  test::write(out / "index.json", index.dump());

  store::Store other = store::Store::open(dir / "other-store");
  CHECK(load_oci_layout(other, out, "multi", Platform{"linux", "amd64", ""}).manifest_digest == one.manifest.digest);
  CHECK(load_oci_layout(other, out, "multi", Platform{"linux", "arm64", "v8"}).manifest_digest == two.manifest.digest);
  CHECK_THROWS_WITH(load_oci_layout(other, out, "multi", Platform{"linux", "s390x", ""}),
                    Catch::Contains("no image for platform linux/s390x") &&
                        Catch::Contains("it has: linux/arm64, linux/amd64"));
}

TEST_CASE("image: layout blobs link to the store", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "links");
  SerializedManifest written = write_oci_layout(store, image, dir / "out", {"latest"});
  fs::path layer = dir / "out/blobs/sha256" / written.layers[0].digest.hex;
  CHECK(fs::equivalent(layer, store.blob_path(written.layers[0].digest)));

  // /dev/shm is another filesystem, so the blob is copied and checked.
  if (!fs::is_directory("/dev/shm")) return;
  TempDir other("imgbuild-layout-", "/dev/shm");
  write_oci_layout(store, image, other / "out", {"latest"});
  fs::path copied = other / "out/blobs/sha256" / written.layers[0].digest.hex;
  CHECK_FALSE(fs::equivalent(copied, store.blob_path(written.layers[0].digest)));
  CHECK(sha256_of_file(copied) == written.layers[0].digest);
}

TEST_CASE("image: docker format needs docker-archive", "[image]") {
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "docker form");
  const char* expected =
      "image format 'docker' cannot be written to an OCI layout or OCI archive, because skopeo and podman find "
      "only OCI manifests there: use format 'oci', or a docker-archive output for the Docker form";
  CHECK_THROWS_WITH(write_oci_layout(store, image, dir / "out", {"v1"}, Format::docker), Catch::EndsWith(expected));
  CHECK_THROWS_WITH(write_oci_archive(store, image, dir / "app.tar", {"app:v1"}, Format::docker),
                    Catch::EndsWith(expected));
  CHECK_FALSE(fs::exists(dir / "out"));
  CHECK_FALSE(fs::exists(dir / "app.tar"));
}

TEST_CASE("image: layout reader accepts docker manifests", "[image]") {
  // Other tools may store a Docker manifest in a layout; read it all the same.
  TempDir dir;
  store::Store store = store::Store::open(dir / "store");
  Image image = busybox_image(store, dir / "scratch", "docker manifest");
  fs::path out = dir / "out";
  write_oci_layout(store, image, out, {"v1"});
  SerializedManifest docker = serialize(image, Format::docker);
  test::write(out / "blobs/sha256" / docker.manifest.digest.hex, docker.manifest_bytes);
  test::write(out / "blobs/sha256" / docker.config.digest.hex, docker.config_bytes);
  json index = read_json(out / "index.json");
  Descriptor descriptor = docker.manifest;
  descriptor.annotations["org.opencontainers.image.ref.name"] = "docker";
  index["manifests"].push_back(descriptor_json(descriptor));
  test::write(out / "index.json", index.dump());

  store::Store other = store::Store::open(dir / "other-store");
  Image loaded = load_oci_layout(other, out, "docker");
  CHECK(loaded.manifest_digest == docker.manifest.digest);
  CHECK(loaded.layers[0].diff_id == image.layers[0].diff_id);
  CHECK(loaded.layers[0].blob.media_type == media_type::oci_layer_gzip);
}
