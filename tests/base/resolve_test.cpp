// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/base/base.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/registry.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;

namespace {

const image::Platform arm64{"linux", "arm64", "v8"};

// Returns a one-layer image containing etc/greeting, written into `store`.
image::Image greeting_image(store::Store& store) {
  layer::Entry directory{.path = "etc", .type = layer::EntryType::directory, .mode = 0755};
  layer::Entry file{.path = "etc/greeting", .mode = 0644, .size = 6};
  file.content = "hello\n";
  layer::LayerResult written = layer::write_layer({directory, file}, {.epoch = 1704067200}, store);

  image::Image image;
  image.config = image::scratch_config(arm64);
  image::set_created(image.config, 1704067200);
  image::set_cmd(image.config, {"/bin/sh"});
  image::Layer layer{{written.media_type, written.digest, static_cast<std::int64_t>(written.size), {}, {}},
                     written.diff_id, written.uncompressed_size};
  image::append_layer(image, layer, {"test layer", "", ""});
  return image;
}

base::BaseContext context_for(store::Store& store, const fs::path& recipe_dir) {
  base::BaseContext context{.store = store};
  context.platform = arm64;
  context.recipe_dir = recipe_dir;
  return context;
}

void check_same_image(const image::Image& loaded, const image::Image& expected, const store::Store& store) {
  CHECK(loaded.config == expected.config);
  REQUIRE(loaded.layers.size() == 1);
  CHECK(loaded.layers[0].diff_id == expected.layers[0].diff_id);
  CHECK(store.has_blob(loaded.layers[0].blob.digest));
}

}  // namespace

TEST_CASE("base: scratch dispatch", "[base]") {
  TempDir temp("base-resolve-");
  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());

  base::ResolvedBase resolved = base::resolve_base(base::Scratch{}, context);
  CHECK(resolved.stage.empty());
  CHECK(resolved.image.layers.empty());
  CHECK(resolved.image.config.at("os") == "linux");
  CHECK(resolved.image.config.at("architecture") == "arm64");
  CHECK(resolved.image.config.at("variant") == "v8");
  CHECK(resolved.image.config.at("rootfs").at("diff_ids") == nlohmann::json::array());
  CHECK(resolved.image.name == "scratch");
  CHECK(resolved.packages.empty());
}

TEST_CASE("base: stage dispatch returns marker", "[base]") {
  TempDir temp("base-resolve-");
  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());

  base::ResolvedBase resolved = base::resolve_base(base::StageBase{"builder"}, context);
  CHECK(resolved.stage == "builder");
  CHECK(resolved.image.layers.empty());
  CHECK(resolved.image.config.is_null());
}

TEST_CASE("base: local image dispatch", "[base]") {
  TempDir temp("base-resolve-");
  store::Store source = store::Store::open(temp / "source-store");
  image::Image image = greeting_image(source);
  fs::path recipe_dir = temp / "recipe";
  fs::create_directories(recipe_dir);
  image::write_oci_layout(source, image, recipe_dir / "layout", {"1.0"});
  image::write_oci_archive(source, image, recipe_dir / "image.oci.tar", {"localhost/greeting:1.0"});
  image::write_docker_archive(source, image, recipe_dir / "image.docker.tar", {"localhost/greeting:1.0"});

  using Transport = base::LocalBase::Transport;
  std::vector<std::pair<base::LocalBase, std::string>> cases{
      {{Transport::oci_layout, "layout", "1.0", {}}, "oci:layout:1.0"},
      {{Transport::oci_layout, recipe_dir / "layout", {}, {}}, cat("oci:", (recipe_dir / "layout").string())},
      {{Transport::oci_archive, "image.oci.tar", {}, {}}, "oci-archive:image.oci.tar"},
      {{Transport::docker_archive, "image.docker.tar", {}, {}}, "docker-archive:image.docker.tar"},
  };
  for (const auto& [local, description] : cases) {
    INFO(description);
    store::Store store = store::Store::open(temp / "store");
    base::BaseContext context = context_for(store, recipe_dir);
    CHECK(base::describe(base::BaseSpec{local}) == description);

    base::ResolvedBase resolved = base::resolve_base(local, context);
    check_same_image(resolved.image, image, store);
    CHECK(resolved.image.name == description);
    CHECK(resolved.stage.empty());
  }
}

TEST_CASE("base: local image by digest", "[base]") {
  TempDir temp("base-resolve-");
  store::Store source = store::Store::open(temp / "source-store");
  image::Image image = greeting_image(source);
  auto written = image::write_oci_layout(source, image, temp / "layout", {"1.0"});

  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());
  base::LocalBase local{base::LocalBase::Transport::oci_layout, "layout", {}, written.manifest.digest.str()};
  CHECK(base::describe(base::BaseSpec{local}) == "oci:layout@" + written.manifest.digest.str());
  check_same_image(base::resolve_base(local, context).image, image, store);
}

TEST_CASE("base: missing local image file", "[base]") {
  TempDir temp("base-resolve-");
  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());
  base::LocalBase local{base::LocalBase::Transport::oci_archive, "missing.tar", {}, {}};

  CHECK_THROWS_WITH(base::resolve_base(local, context),
                    cat("resolving base 'oci-archive:missing.tar': base image file '", (temp / "missing.tar").string(),
                        "' not found: check the path, relative paths start at the recipe directory"));
}

TEST_CASE("base: locked registry base needs lock file", "[base]") {
  TempDir temp("base-resolve-");
  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());
  context.locked = true;

  CHECK_THROWS_WITH(base::resolve_base(base::RegistryBase{"127.0.0.1:1/app:1"}, context),
                    "resolving base 'docker://127.0.0.1:1/app:1': --locked needs a lock file, but none is set "
                    "for base '127.0.0.1:1/app:1'");
}

TEST_CASE("base: registry dispatch with lock file", "[base]") {
  TempDir temp("base-resolve-");
  test::TestRegistry registry(temp / "registry");
  test::TestImage first = test::write_busybox_layout(temp / "layout", "v1", {.marker = "first"});
  test::TestImage second = test::write_busybox_layout(temp / "layout", "v2", {.marker = "second"});
  test::copy_to_registry(registry, temp / "layout", "v1", "demo/busybox:v1");

  store::Store store = store::Store::open(temp / "store");
  base::BaseContext context = context_for(store, temp.path());
  context.platform = {"linux", "amd64", ""};
  context.registry.hosts[registry.host()].insecure = true;
  context.lock_file = temp / "imgbuild.lock";
  std::string reference = registry.host() + "/demo/busybox:v1";
  auto resolve = [&] { return base::resolve_base(base::RegistryBase{reference}, context); };

  // Normal mode pins the tag on first use.
  base::ResolvedBase pinned = resolve();
  CHECK(pinned.image.layers.at(0).diff_id.str() == first.diff_id);
  CHECK(pinned.image.name == reference);
  CHECK(read_file(context.lock_file).find(cat("\"", reference, "\": \"", first.manifest_digest, "\"")) !=
        std::string::npos);

  // The tag moves: the pin keeps the old image until `pull` refreshes it.
  test::copy_to_registry(registry, temp / "layout", "v2", "demo/busybox:v1");
  CHECK(resolve().image.layers.at(0).diff_id.str() == first.diff_id);

  context.locked = true;
  CHECK_THROWS_WITH(resolve(), Catch::Contains(first.manifest_digest) && Catch::Contains(second.manifest_digest));

  context.locked = false;
  context.pull = true;
  CHECK(resolve().image.layers.at(0).diff_id.str() == second.diff_id);
  CHECK(read_file(context.lock_file).find(second.manifest_digest) != std::string::npos);
}
