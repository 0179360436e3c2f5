// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/image/config.hpp"
#include "imgbuild/image/manifest.hpp"
#include "imgbuild/image/output.hpp"
#include "imgbuild/util/error.hpp"

using namespace imgbuild;
using namespace imgbuild::image;
using nlohmann::json;

namespace {

Layer layer_of(char fill, const char* media, std::int64_t size) {
  Layer layer;
  layer.blob.media_type = media;
  layer.blob.digest = Digest{std::string(64, fill)};
  layer.blob.size = size;
  layer.diff_id = Digest{std::string(63, fill) + "0"};
  return layer;
}

// A base layer in Docker media type plus one gzip layer of our own.
Image two_layer_image() {
  Image image;
  image.config = scratch_config(Platform{});
  set_created(image.config, 1700000000);
  set_cmd(image.config, {"/bin/app"});
  append_layer(image, layer_of('a', media_type::docker_layer_gzip, 1000), {"base", "", ""});
  append_layer(image, layer_of('b', media_type::oci_layer_gzip, 20), {"copy: app /bin/app", "", ""});
  return image;
}

}  // namespace

TEST_CASE("image: oci manifest bytes", "[image]") {
  Image image = two_layer_image();
  set_image_annotations(image, {"docker.io/library/debian:bookworm",
                                "sha256:" + std::string(64, 'd'), "https://example.com/app.git", "abc123"});
  SerializedManifest written = serialize(image, Format::oci);

  CHECK(written.config_bytes ==
        R"({"architecture":"amd64","config":{"Cmd":["/bin/app"]},"created":"2023-11-14T22:13:20Z","history":[)"
        R"({"created":"2023-11-14T22:13:20Z","created_by":"base"},{"created":"2023-11-14T22:13:20Z",)"
        R"("created_by":"copy: app /bin/app"}],"os":"linux","rootfs":{"diff_ids":["sha256:)" +
            std::string(63, 'a') + R"(0","sha256:)" + std::string(63, 'b') + R"(0"],"type":"layers"}})");
  CHECK(written.config.media_type == media_type::oci_config);
  CHECK(written.config.digest == sha256_of(written.config_bytes));
  CHECK(written.config.size == static_cast<std::int64_t>(written.config_bytes.size()));

  json manifest = json::parse(written.manifest_bytes);
  CHECK(manifest["schemaVersion"] == 2);
  CHECK(manifest["mediaType"] == media_type::oci_manifest);
  CHECK(manifest["config"]["digest"] == written.config.digest.str());
  REQUIRE(manifest["layers"].size() == 2);
  // The base layer keeps its blob, and only the media type takes the OCI name.
  CHECK(manifest["layers"][0] == json({{"mediaType", media_type::oci_layer_gzip},
                                       {"digest", "sha256:" + std::string(64, 'a')},
                                       {"size", 1000}}));
  CHECK(manifest["layers"][1]["size"] == 20);
  CHECK(manifest["annotations"] == json({{"org.opencontainers.image.base.digest", "sha256:" + std::string(64, 'd')},
                                         {"org.opencontainers.image.base.name", "docker.io/library/debian:bookworm"},
                                         {"org.opencontainers.image.created", "2023-11-14T22:13:20Z"},
                                         {"org.opencontainers.image.revision", "abc123"},
                                         {"org.opencontainers.image.source", "https://example.com/app.git"}}));
  CHECK(written.manifest_bytes == canonical_json(manifest));
  CHECK(written.manifest.digest == sha256_of(written.manifest_bytes));
  CHECK(written.manifest.media_type == media_type::oci_manifest);
}

TEST_CASE("image: docker manifest form", "[image]") {
  Image image = two_layer_image();
  set_healthcheck(image.config, {{"CMD", "/bin/true"}, 1'000'000'000, 0, 0, 0});
  set_image_annotations(image, {"debian:bookworm", "", "", ""});
  SerializedManifest written = serialize(image, Format::docker);

  json manifest = json::parse(written.manifest_bytes);
  CHECK(manifest["mediaType"] == media_type::docker_manifest);
  CHECK(manifest["config"]["mediaType"] == media_type::docker_config);
  CHECK(manifest["layers"][0]["mediaType"] == media_type::docker_layer_gzip);
  CHECK(manifest["layers"][1]["mediaType"] == media_type::docker_layer_gzip);
  CHECK_FALSE(manifest.contains("annotations"));
  CHECK(json::parse(written.config_bytes)["config"]["Healthcheck"]["Test"] == json({"CMD", "/bin/true"}));

  // The OCI config has no healthcheck field, so it is left out there.
  SerializedManifest oci = serialize(image, Format::oci);
  CHECK_FALSE(json::parse(oci.config_bytes)["config"].contains("Healthcheck"));
}

TEST_CASE("image: same inputs give same digests", "[image]") {
  Image first = two_layer_image();
  Image second = two_layer_image();
  set_label(first.config, "a", "1");
  set_label(first.config, "b", "2");
  set_label(second.config, "b", "2");
  set_label(second.config, "a", "1");
  for (Format format : {Format::oci, Format::docker}) {
    SerializedManifest one = serialize(first, format);
    SerializedManifest two = serialize(second, format);
    CHECK(one.config_bytes == two.config_bytes);
    CHECK(one.manifest_bytes == two.manifest_bytes);
    CHECK(one.manifest.digest == two.manifest.digest);
  }
  CHECK(serialize(first, Format::oci).manifest.digest != serialize(first, Format::docker).manifest.digest);
}

TEST_CASE("image: layer media type mapping", "[image]") {
  CHECK(layer_media_type(Compression::gzip, Format::oci) == media_type::oci_layer_gzip);
  CHECK(layer_media_type(Compression::gzip, Format::docker) == media_type::docker_layer_gzip);
  CHECK(layer_media_type(Compression::none, Format::docker) == media_type::docker_layer_tar);
  CHECK(layer_media_type(Compression::zstd, Format::oci) == media_type::oci_layer_zstd);
  CHECK(layer_compression(media_type::docker_layer_tar) == Compression::none);
  CHECK_THROWS_WITH(layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
                    Catch::Contains("unsupported layer media type"));
  CHECK_THROWS_WITH(layer_media_type(Compression::zstd, Format::docker),
                    "layer compression 'zstd' cannot be written with image format 'docker': Docker manifests have "
                    "no zstd layer type; use format 'oci' or compression 'gzip'");

  Image image = two_layer_image();
  append_layer(image, layer_of('c', media_type::oci_layer_zstd, 5), {"run: make", "", ""});
  CHECK_NOTHROW(serialize(image, Format::oci));
  CHECK_THROWS_WITH(serialize(image, Format::docker), Catch::Contains("'zstd' cannot be written with image format 'docker'"));
}

TEST_CASE("image: descriptor json round trip", "[image]") {
  Descriptor descriptor;
  descriptor.media_type = media_type::oci_manifest;
  descriptor.digest = Digest{std::string(64, 'e')};
  descriptor.size = 512;
  descriptor.annotations["org.opencontainers.image.ref.name"] = "1.0";
  descriptor.platform = Platform{"linux", "arm64", "v8"};
  json value = descriptor_json(descriptor);
  CHECK(value.dump() == R"({"annotations":{"org.opencontainers.image.ref.name":"1.0"},"digest":"sha256:)" +
                            std::string(64, 'e') +
                            R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":)"
                            R"({"architecture":"arm64","os":"linux","variant":"v8"},"size":512})");
  Descriptor back = parse_descriptor(value);
  CHECK(back.digest == descriptor.digest);
  CHECK(back.platform->variant == "v8");
  CHECK_THROWS_WITH(parse_descriptor(json::parse(R"({"digest":"sha256:00","size":1})")), Catch::Contains("invalid digest"));
  CHECK_THROWS_WITH(parse_descriptor(json::parse(R"({"mediaType":"x"})")), Catch::Contains("descriptor has no digest"));
}

TEST_CASE("image: parse format names", "[image]") {
  CHECK(parse_format("oci") == Format::oci);
  CHECK(parse_format("docker") == Format::docker);
  CHECK_THROWS_WITH(parse_format("OCI"), "invalid image format 'OCI': use 'oci' or 'docker'");
}

TEST_CASE("image: parse output specs", "[image]") {
  OutputSpec oci = parse_output("oci:out/dir:1.0");
  CHECK(oci.kind == OutputKind::oci_layout);
  CHECK(oci.path == "out/dir");
  CHECK(oci.tag == "1.0");
  CHECK(parse_output("oci:/tmp/x").tag.empty());

  OutputSpec archive = parse_output("oci-archive:/tmp/app.tar");
  CHECK(archive.kind == OutputKind::oci_archive);
  CHECK(archive.path == "/tmp/app.tar");
  CHECK(parse_output("docker-archive:app.tar").kind == OutputKind::docker_archive);

  OutputSpec registry = parse_output("docker://127.0.0.1:5000/team/app:1.2");
  CHECK(registry.kind == OutputKind::registry);
  CHECK(registry.reference == "127.0.0.1:5000/team/app:1.2");
}

TEST_CASE("image: invalid output specs", "[image]") {
  const std::string forms =
      "; use oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REGISTRY/NAME[:TAG]";
  CHECK_THROWS_WITH(parse_output("out"), "invalid output 'out': it has no transport prefix" + forms);
  CHECK_THROWS_WITH(parse_output("oic:out"),
                    "invalid output 'oic:out': unknown transport 'oic' (did you mean 'oci'?)" + forms);
  CHECK_THROWS_WITH(parse_output("oci:"), "invalid output 'oci:': the path is empty" + forms);
  CHECK_THROWS_WITH(parse_output("oci:out:"), "invalid output 'oci:out:': the tag after the directory is empty" + forms);
  CHECK_THROWS_WITH(parse_output("docker-archive:"), Catch::Contains("the path is empty"));
  CHECK_THROWS_WITH(parse_output("docker://"), Catch::Contains("the reference after 'docker://' is empty"));
  CHECK_THROWS_WITH(parse_output("docker://localhost:5000/App:1"), Catch::Contains("repository 'App' may contain only"));
  CHECK_THROWS_WITH(parse_output("docker://localhost:5000/app:"), Catch::Contains("the tag after ':' is empty"));
  try {
    parse_output("x");
    FAIL("parse_output accepted 'x'");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::usage);
  }
}
