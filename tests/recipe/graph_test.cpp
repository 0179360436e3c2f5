// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/recipe/graph.hpp"
#include "imgbuild/recipe/load.hpp"
#include "support/toolkit.hpp"

namespace recipe = imgbuild::recipe;

namespace {

std::vector<std::string> order_names(const recipe::Recipe& r, const std::string& target) {
  std::vector<std::string> names;
  for (std::size_t index : recipe::build_order(r, r.target_stage(target))) names.push_back(r.stages[index].name);
  return names;
}

}  // namespace

TEST_CASE("recipe: build order follows references", "[recipe]") {
  // "final" is written first but reads from stages declared after it.
  recipe::Recipe r = recipe::parse_recipe(R"([image]
name = "app"
target = "final"
[[stage]]
name = "final"
base = "deps"
[[stage.step]]
copy = "/out"
from = "tools"
to = "/out"
[[stage]]
name = "tools"
base = "scratch"
[[stage]]
name = "deps"
base = "tools"
[[stage]]
name = "unused"
base = "scratch"
)",
                                          "order.toml");
  CHECK(recipe::stage_dependencies(r.stages[0]) == std::vector<std::string>{"deps", "tools"});
  CHECK(recipe::stage_dependencies(r.stages[1]).empty());
  CHECK(order_names(r, "final") == std::vector<std::string>{"tools", "deps", "final"});
  CHECK(order_names(r, "deps") == std::vector<std::string>{"tools", "deps"});
  CHECK(order_names(r, "unused") == std::vector<std::string>{"unused"});
}

TEST_CASE("recipe: backend recipe stages", "[recipe]") {
  recipe::Recipe r = recipe::load_recipe(imgbuild::test::source_dir() / "recipes/backend.toml");
  CHECK(order_names(r, "runtime") == std::vector<std::string>{"builder", "runtime"});
  const recipe::Stage& runtime = r.target_stage();
  CHECK(runtime.name == "runtime");
  CHECK(runtime.base.kind == recipe::Base::Kind::debian);
  CHECK(runtime.base.debian.packages == std::vector<std::string>{"python3", "curl", "ca-certificates"});
  REQUIRE(runtime.config.healthcheck);
  CHECK(runtime.config.healthcheck->test.back() == "http://127.0.0.1:8000/api/v1/health");
  CHECK(runtime.config.ports == std::vector<std::string>{"8000/tcp"});
  CHECK(runtime.config.user == "app");
  REQUIRE(r.policy);
  CHECK(r.policy->require_non_root);
  CHECK(r.context.dir == imgbuild::test::source_dir() / "examples/backend");
}

TEST_CASE("recipe: step summaries", "[recipe]") {
  recipe::Recipe r = recipe::load_recipe(imgbuild::test::source_dir() / "tests/data/recipe/full.toml");
  const recipe::Stage& runtime = r.stages.at(1);
  CHECK(recipe::summarize(runtime.steps.at(0)) == "copy src/ *.py -> /app/ owner 1000:1000 mode 0644");
  CHECK(recipe::summarize(runtime.steps.at(1)) == "copy /opt/venv -> /opt/venv from 'builder' mode 0755");
  CHECK(recipe::summarize(runtime.steps.at(2)) == "env abc=bye def=$abc PATH=/opt/venv/bin:${PATH}");
  CHECK(recipe::summarize(runtime.steps.at(3)) == "workdir /app");
  CHECK(recipe::summarize(runtime.steps.at(4)) == "user app:app");
  const recipe::Stage& builder = r.stages.at(0);
  CHECK(recipe::summarize(builder.steps.at(0)) ==
        "run make all (network host) (env CC=gcc CFLAGS=-O2) (secrets pip_conf, token) (cache /root/.cache/pip, /var/cache/apt)");
  CHECK(recipe::summarize(builder.steps.at(1)) == "run [\"python3\", \"-m\", \"build\"] (cache /tmp/private)");
  CHECK(recipe::summarize(builder.base) == "debian bookworm (buildd) snapshot 20241201T000000Z with python3, gcc");
  CHECK(recipe::summarize(runtime.base) == "stage 'builder'");
  CHECK(recipe::summarize(r.stages.at(6).base) == "debian:bookworm");
  CHECK(recipe::describe(runtime, runtime.steps.at(1)) == "step 2 of stage 'runtime'");
}
