// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "build/keys.hpp"
#include "build/scheduler.hpp"
#include "imgbuild/util/error.hpp"

using namespace imgbuild;
using namespace imgbuild::build;

TEST_CASE("build: scheduler dependencies finish first", "[build]") {
  // 0 <- 1, 0 <- 2, {1,2} <- 3
  std::vector<std::vector<std::size_t>> dependencies = {{}, {0}, {0}, {1, 2}};
  std::mutex mutex;
  std::vector<std::size_t> order;
  run_graph(4, dependencies, 2, [&](std::size_t node) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(mutex);
    order.push_back(node);
  });
  REQUIRE(order.size() == 4);
  CHECK(order.front() == 0);
  CHECK(order.back() == 3);
}

TEST_CASE("build: scheduler independent nodes run in parallel", "[build]") {
  std::atomic<int> running{0}, peak{0};
  run_graph(2, {{}, {}}, 2, [&](std::size_t) {
    int now = ++running;
    int expected = peak.load();
    while (now > expected && !peak.compare_exchange_weak(expected, now)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    --running;
  });
  CHECK(peak == 2);
}

TEST_CASE("build: scheduler one job runs nodes one at a time", "[build]") {
  std::atomic<int> running{0}, peak{0};
  run_graph(3, {{}, {}, {}}, 1, [&](std::size_t) {
    int now = ++running;
    if (now > peak) peak = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --running;
  });
  CHECK(peak == 1);
}

TEST_CASE("build: scheduler failure stops dependents", "[build]") {
  std::atomic<bool> dependent_ran{false};
  CHECK_THROWS_WITH(run_graph(2, {{}, {0}}, 2,
                              [&](std::size_t node) {
                                if (node == 0) fail("step failed");
                                dependent_ran = true;
                              }),
                    "step failed");
  CHECK_FALSE(dependent_ran);
}

TEST_CASE("build: keys same components give the same key", "[build]") {
  KeyComponents a;
  a.parent = "sha256:parent";
  a.definition = {{"kind", "run"}, {"argv", {"sh", "-c", "true"}}};
  a.args = {{"VERSION", "1"}};
  a.platform = "linux/amd64";
  KeyComponents b = a;
  CHECK(compute_key(a) == compute_key(b));
  b.args["VERSION"] = "2";
  CHECK(compute_key(a) != compute_key(b));
  CHECK(explain_difference(a.to_json(), b.to_json()) == "build arg 'VERSION' changed ('1' -> '2')");
}

TEST_CASE("build: keys explain names the changed definition", "[build]") {
  KeyComponents a;
  a.definition = {{"kind", "run"}, {"script", "echo 1"}};
  KeyComponents b = a;
  b.definition["script"] = "echo 2";
  CHECK(explain_difference(a.to_json(), b.to_json()) == "step definition 'script' changed ('echo 1' -> 'echo 2')");
  KeyComponents c = a;
  c.parent = "sha256:other";
  CHECK(explain_difference(a.to_json(), c.to_json()) == "an earlier step or the base changed");
  KeyComponents d = a;
  d.inputs = "sha256:new";
  CHECK(explain_difference(a.to_json(), d.to_json()) == "copied files changed");
}
