// SPDX-License-Identifier: Apache-2.0
// Round trip: a recipe that sets every key, checked field by field.
#include <catch2/catch.hpp>

#include "imgbuild/recipe/load.hpp"
#include "support/toolkit.hpp"

namespace recipe = imgbuild::recipe;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() { return imgbuild::test::source_dir() / "tests/data/recipe"; }

const recipe::Recipe& full() {
  static const recipe::Recipe loaded = recipe::load_recipe(data_dir() / "full.toml");
  return loaded;
}

std::vector<std::string> names_of(const std::vector<recipe::EnvVar>& env) {
  std::vector<std::string> names;
  for (const auto& var : env) names.push_back(var.name + "=" + var.value);
  return names;
}

}  // namespace

TEST_CASE("recipe: full recipe top-level tables", "[recipe]") {
  const recipe::Recipe& r = full();
  CHECK(r.directory == data_dir());
  CHECK(r.image.name == "localhost/full");
  CHECK(r.image.tags == std::vector<std::string>{"1.0", "latest"});
  CHECK(r.image.target == "runtime");
  CHECK(r.image.positions.at("target").line == 5);

  REQUIRE(r.args.size() == 3);
  CHECK(r.args[0].name == "APP_VERSION");
  CHECK(r.args[0].default_value == "1.0");
  CHECK(r.args[1].name == "PORT");
  CHECK(r.args[1].default_value == "8000");
  CHECK(r.args[2].name == "EMPTY");
  CHECK(r.args[2].default_value == "");
  CHECK(r.args[2].position.line == 10);

  CHECK(r.context.dir == data_dir().parent_path() / "context");
  CHECK_FALSE(r.context.git);
  CHECK(r.context.ignore_file == fs::path(".customignore"));
  CHECK(r.context.allow == std::vector<std::string>{"config/.env.example", "*.pem.example"});

  REQUIRE(r.secrets.size() == 3);
  CHECK(r.secrets[0].id == "pip_conf");
  CHECK(r.secrets[0].file == data_dir() / "secrets/pip.conf");
  CHECK(r.secrets[1].id == "token");
  CHECK(r.secrets[1].env == "API_TOKEN");
  CHECK(r.secrets[2].id == "given");
  CHECK_FALSE(r.secrets[2].file);
  CHECK_FALSE(r.secrets[2].env);
}

TEST_CASE("recipe: full recipe build and report", "[recipe]") {
  const recipe::Recipe& r = full();
  const recipe::BuildSection& b = r.build;
  CHECK(b.format == recipe::ImageFormat::docker);
  CHECK(b.compression == recipe::Compression::zstd);
  CHECK(b.platform == "linux/arm64/v8");
  CHECK(b.runtime == "crun");
  CHECK(b.network == recipe::Network::none);
  CHECK(b.no_new_privileges);
  CHECK(b.jobs == 3);
  CHECK(b.source_date_epoch == 1700000000);
  CHECK(b.volatile_paths == std::vector<std::string>{"var/log/*.log", "tmp/cache"});
  CHECK(b.positions.at("jobs").line == 29);

  REQUIRE(b.outputs.size() == 4);
  CHECK(b.outputs[0].transport == recipe::Output::Transport::oci);
  CHECK(b.outputs[0].destination == (data_dir() / "out/layout").string());
  CHECK(b.outputs[0].tag == "v1");
  CHECK(b.outputs[1].transport == recipe::Output::Transport::oci_archive);
  CHECK(b.outputs[1].destination == (data_dir() / "out/image.tar").string());
  CHECK(b.outputs[2].transport == recipe::Output::Transport::docker_archive);
  CHECK(b.outputs[2].destination == (data_dir() / "out/docker.tar").string());
  CHECK(b.outputs[3].transport == recipe::Output::Transport::docker);
  CHECK(b.outputs[3].destination == "localhost:5000/full:1.0");
  CHECK_FALSE(b.outputs[3].tag);

  CHECK(r.report.file == data_dir() / "out/report.json");
  CHECK(r.report.sbom == std::vector<recipe::SbomFormat>{recipe::SbomFormat::spdx, recipe::SbomFormat::cyclonedx});
  CHECK(r.report.sbom_dir == data_dir() / "out/sbom");
  CHECK(r.report.vulns == data_dir() / "data/tracker.json");
}

TEST_CASE("recipe: full recipe policy", "[recipe]") {
  const recipe::Recipe& r = full();
  REQUIRE(r.policy);
  const recipe::Policy& p = *r.policy;
  CHECK(p.forbid_packages.at("deb") == std::vector<std::string>{"gcc*", "*-dev"});
  CHECK(p.forbid_packages.at("python") == std::vector<std::string>{"pytest"});
  CHECK(p.require_packages.at("deb") == std::vector<std::string>{"python3"});
  CHECK(p.require_packages.count("python") == 0);
  CHECK(p.forbid_paths == std::vector<std::string>{"/usr/bin/gcc*"});
  CHECK(p.max_compressed_size == 150000000u);
  CHECK(p.max_uncompressed_size == 400000000u);
  CHECK(p.require_non_root);
  CHECK(p.require_healthcheck);
  CHECK(p.positions.at("max_compressed_size").line == 44);

  const recipe::Stage& builder = r.stages.at(0);
  REQUIRE(builder.policy);
  CHECK(builder.policy->forbid_paths == std::vector<std::string>{"/etc/shadow-"});
  CHECK_FALSE(builder.policy->require_non_root);
  CHECK_FALSE(r.stages.at(1).policy);
}

TEST_CASE("recipe: full recipe builder stage", "[recipe]") {
  const recipe::Stage& s = full().stages.at(0);
  CHECK(s.name == "builder");
  CHECK(s.index == 0);
  CHECK(s.position.line == 50);
  REQUIRE(s.args.size() == 1);
  CHECK(s.args[0].value == "APP_VERSION");
  CHECK(s.shell == std::vector<std::string>{"/bin/bash", "-eu", "-c"});

  REQUIRE(s.base.kind == recipe::Base::Kind::debian);
  const recipe::DebianBase& d = s.base.debian;
  CHECK(d.suite == "bookworm");
  CHECK(d.variant == "buildd");
  CHECK(d.packages == std::vector<std::string>{"python3", "gcc"});
  CHECK(d.architecture == "arm64");
  CHECK(d.snapshot == "20241201T000000Z");
  CHECK(d.mirror == "http://snapshot.debian.org/archive/debian/20241201T000000Z/");
  CHECK(d.sources == std::vector<std::string>{"deb [trusted=yes] file:///srv/repo ./"});

  REQUIRE(s.steps.size() == 2);
  const recipe::Step& first = s.steps[0];
  CHECK(first.number == 1);
  CHECK(first.position.line == 62);
  REQUIRE(first.kind() == recipe::StepKind::run);
  const auto& run = std::get<recipe::RunStep>(first.body);
  CHECK(run.shell_form);
  CHECK(run.argv == std::vector<std::string>{"/bin/bash", "-eu", "-c", "make all"});
  CHECK(names_of(run.env) == std::vector<std::string>{"CC=gcc", "CFLAGS=-O2"});
  CHECK(run.network == recipe::Network::host);
  REQUIRE(run.secrets.size() == 2);
  CHECK(run.secrets[1].value == "token");
  CHECK(run.secrets[1].position.line == 66);
  REQUIRE(first.args.size() == 1);
  CHECK(first.args[0].value == "PORT");
  REQUIRE(run.cache.size() == 2);
  CHECK(run.cache[0].target == "/root/.cache/pip");
  CHECK(run.cache[0].id == "/root/.cache/pip");
  CHECK(run.cache[0].sharing == recipe::CacheMount::Sharing::shared);
  CHECK(run.cache[1].target == "/var/cache/apt");
  CHECK(run.cache[1].id == "apt");
  CHECK(run.cache[1].sharing == recipe::CacheMount::Sharing::locked);

  const auto& exec = std::get<recipe::RunStep>(s.steps[1].body);
  CHECK_FALSE(exec.shell_form);
  CHECK(exec.argv == std::vector<std::string>{"python3", "-m", "build"});
  CHECK_FALSE(exec.network);
  REQUIRE(exec.cache.size() == 1);
  CHECK(exec.cache[0].sharing == recipe::CacheMount::Sharing::private_);
}

TEST_CASE("recipe: full recipe runtime steps", "[recipe]") {
  const recipe::Stage& s = full().stages.at(1);
  CHECK(s.base.kind == recipe::Base::Kind::stage);
  CHECK(s.base.stage == "builder");
  CHECK(s.shell == std::vector<std::string>{"/bin/sh", "-c"});
  REQUIRE(s.steps.size() == 5);

  const auto& copy = std::get<recipe::CopyStep>(s.steps[0].body);
  REQUIRE(copy.sources.size() == 2);
  CHECK(copy.sources[0].value == "src/");
  CHECK(copy.sources[1].value == "*.py");
  CHECK(copy.sources[1].position.line == 83);
  CHECK(copy.sources[1].position.column == 17);
  CHECK_FALSE(copy.from);
  CHECK(copy.destination.value == "/app/");
  CHECK(copy.owner == "1000:1000");
  CHECK(copy.mode == 0644u);

  const auto& from = std::get<recipe::CopyStep>(s.steps[1].body);
  CHECK(from.sources.at(0).value == "/opt/venv");
  REQUIRE(from.from);
  CHECK(from.from->value == "builder");
  CHECK(from.from->position.line == 90);
  CHECK(from.mode == 0755u);

  const auto& env = std::get<recipe::EnvStep>(s.steps[2].body);
  CHECK(names_of(env.env) == std::vector<std::string>{"abc=bye", "def=$abc", "PATH=/opt/venv/bin:${PATH}"});
  CHECK(std::get<recipe::WorkdirStep>(s.steps[3].body).path == "/app");
  CHECK(std::get<recipe::UserStep>(s.steps[4].body).user == "app:app");
  CHECK(recipe::visible_args(s, 4) == std::vector<std::string>{"EMPTY"});
  CHECK(recipe::visible_args(full().stages.at(0), 0) == std::vector<std::string>{"APP_VERSION", "PORT"});
}

TEST_CASE("recipe: full recipe runtime config", "[recipe]") {
  const recipe::StageConfig& c = full().stages.at(1).config;
  CHECK(c.entrypoint == std::vector<std::string>{"python3", "-m", "app"});
  CHECK(c.cmd == std::vector<std::string>{"/bin/sh", "-c", "serve --port 8000"});
  CHECK(c.workdir == "/app");
  CHECK(c.user == "app");
  CHECK(names_of(c.env) == std::vector<std::string>{"B=2", "A=1"});
  CHECK(c.ports == std::vector<std::string>{"8000/tcp", "53/tcp", "9000/udp", "9001/udp"});
  CHECK(c.volumes == std::vector<std::string>{"/data"});
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.labels == Pairs{{"org.opencontainers.image.title", "full"}, {"a", "b"}});
  CHECK(c.annotations == Pairs{{"org.example.note", "x"}});
  CHECK(c.stop_signal == "SIGINT");
  REQUIRE(c.healthcheck);
  CHECK(c.healthcheck->test == std::vector<std::string>{"CMD", "curl", "-f", "http://127.0.0.1:8000/"});
  CHECK(c.healthcheck->interval == 90'000'000'000);
  CHECK(c.healthcheck->timeout == 500'000'000);
  CHECK(c.healthcheck->start_period == 5'000'000'000);
  CHECK(c.healthcheck->retries == 3);
  CHECK(c.positions.at("healthcheck").line == 115);
}

TEST_CASE("recipe: full recipe other bases", "[recipe]") {
  const recipe::Recipe& r = full();
  REQUIRE(r.stages.size() == 9);
  const recipe::Base& layout = r.stages[2].base;
  CHECK(layout.kind == recipe::Base::Kind::oci_layout);
  CHECK(layout.path == data_dir() / "layouts/base");
  CHECK(layout.tag == "1.2");
  CHECK_FALSE(layout.digest);

  const recipe::Base& digest = r.stages[3].base;
  CHECK(digest.kind == recipe::Base::Kind::oci_layout);
  CHECK(digest.digest == "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  CHECK_FALSE(digest.tag);

  CHECK(r.stages[4].base.kind == recipe::Base::Kind::oci_archive);
  CHECK(r.stages[4].base.path == data_dir() / "images/base.tar");
  CHECK(r.stages[5].base.kind == recipe::Base::Kind::docker_archive);
  CHECK(r.stages[6].base.kind == recipe::Base::Kind::registry);
  CHECK(r.stages[6].base.reference == "debian:bookworm");
  CHECK(r.stages[7].base.kind == recipe::Base::Kind::registry);
  CHECK(r.stages[7].base.reference.starts_with("localhost:5000/base/image@sha256:"));
  CHECK(r.stages[8].base.kind == recipe::Base::Kind::scratch);
  CHECK(r.target_stage().name == "runtime");
  CHECK(r.target_stage(std::string("empty")).name == "empty");
}

TEST_CASE("recipe: defaults of a minimal recipe", "[recipe]") {
  recipe::Recipe r = recipe::parse_recipe(R"(
[image]
name = "app"
[[stage]]
name = "only"
base = "scratch"
)",
                                          "dir/minimal.toml");
  CHECK(r.image.tags == std::vector<std::string>{"latest"});
  CHECK_FALSE(r.image.target);
  CHECK(r.context.dir == fs::current_path() / "dir");
  CHECK_FALSE(r.build.format);
  CHECK(r.build.compression == recipe::Compression::gzip);
  CHECK(r.build.network == recipe::Network::host);
  CHECK(r.build.jobs == 0);
  CHECK(r.build.volatile_paths == recipe::default_volatile_paths());
  CHECK(r.build.outputs.empty());
  CHECK_FALSE(r.policy);
  CHECK(r.target_stage().name == "only");
  CHECK(r.stages[0].shell == std::vector<std::string>{"/bin/sh", "-c"});
}

TEST_CASE("recipe: git context", "[recipe]") {
  recipe::Recipe r = recipe::parse_recipe(R"(
[image]
name = "app"
[context]
git = "../repo"
ref = "v1.2"
dir = "services/api"
[[stage]]
name = "only"
base = "scratch"
)",
                                          "/srv/recipes/app.toml");
  CHECK(r.context.git == "/srv/repo");
  CHECK(r.context.ref == "v1.2");
  CHECK(r.context.dir == fs::path("services/api"));
}

TEST_CASE("recipe: git context dir stays inside", "[recipe]") {
  auto dir_of = [](const std::string& dir) {
    std::string text = "[image]\nname = \"app\"\n[context]\ngit = \"/srv/repo\"\ndir = \"" + dir +
                       "\"\n[[stage]]\nname = \"only\"\nbase = \"scratch\"\n";
    return recipe::parse_recipe(text, "/srv/recipes/app.toml").context.dir;
  };
  CHECK(dir_of("..data") == fs::path("..data"));
  CHECK(dir_of("a/../b") == fs::path("b"));
  CHECK(dir_of("") == fs::path(""));
  for (std::string outside : {"..", "../x", "a/../../x", "/srv/repo/x"}) {
    INFO("dir = " << outside);
    CHECK_THROWS_AS(dir_of(outside), recipe::RecipeError);
  }
}
