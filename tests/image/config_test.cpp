// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <regex>

#include "imgbuild/image/config.hpp"
#include "imgbuild/util/error.hpp"

using namespace imgbuild;
using namespace imgbuild::image;
using nlohmann::json;

namespace {

Layer fake_layer(char fill) {
  Layer layer;
  layer.blob.media_type = media_type::oci_layer_gzip;
  layer.blob.digest = Digest{std::string(64, fill)};
  layer.blob.size = 100;
  layer.diff_id = Digest{std::string(63, fill) + "0"};
  return layer;
}

// A base image as a registry would hand it over: one layer, two history
// entries (one of them empty), PATH in Env.
Image base_image() {
  Image base;
  base.config = json::parse(R"({
    "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05.123456789Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0"]},
    "history": [
      {"created": "2024-01-02T03:04:05.123456789Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
      {"created": "2024-01-02T03:04:05.5Z", "created_by": "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", "empty_layer": true}
    ]})");
  base.layers.push_back(fake_layer('a'));
  return base;
}

}  // namespace

TEST_CASE("image: rfc3339 timestamps", "[image]") {
  CHECK(rfc3339_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339_utc(1700000000) == "2023-11-14T22:13:20Z");
  CHECK(rfc3339_utc(951782400) == "2000-02-29T00:00:00Z");
}

TEST_CASE("image: scratch config is canonical", "[image]") {
  json config = scratch_config(Platform{"linux", "arm64", "v8"});
  CHECK(canonical_json(config) ==
        R"({"architecture":"arm64","config":{},"created":"1970-01-01T00:00:00Z","history":[],"os":"linux",)"
        R"("rootfs":{"diff_ids":[],"type":"layers"},"variant":"v8"})");

  set_platform(config, Platform{"linux", "amd64", ""});
  CHECK_FALSE(config.contains("variant"));
  CHECK(config_platform(config).architecture == "amd64");
  CHECK_THROWS_WITH(set_platform(config, Platform{"linux", "", ""}), Catch::Contains("needs an os and an architecture"));
}

TEST_CASE("image: env keeps order, last value wins", "[image]") {
  // The values are what the recipe module expands from:
  //   ENV abc=hello / ENV abc=bye def=$abc / ENV ghi=$abc
  //   ENV dflt=${unset_var:-fallback} alt=${abc:+set} / ENV p=/opt/app
  json config = config_from_base(base_image().config, 1);
  set_env(config, "abc", "hello");
  set_env(config, "abc", "bye");
  set_env(config, "def", "hello");
  set_env(config, "ghi", "bye");
  set_env(config, "dflt", "fallback");
  set_env(config, "alt", "set");
  set_env(config, "p", "/opt/app");
  set_working_dir(config, "/opt/app/bin");

  json expected = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "abc=bye", "def=hello", "ghi=bye", "dflt=fallback", "alt=set", "p=/opt/app"};
  CHECK(config["config"]["Env"] == expected);
  CHECK(config["config"]["WorkingDir"] == "/opt/app/bin");
  CHECK(get_env(config, "abc") == "bye");
  CHECK_FALSE(get_env(config, "unset_var"));
}

TEST_CASE("image: env replaces a base key in place", "[image]") {
  json config = scratch_config(Platform{});
  config["config"]["Env"] = {"A=1", "PATH=/bin", "B=2", "PATH=/old"};
  set_env(config, "PATH", "/opt/bin:/bin");
  CHECK(config["config"]["Env"] == json({"A=1", "PATH=/opt/bin:/bin", "B=2"}));
  CHECK(env_map(config).at("PATH") == "/opt/bin:/bin");

  CHECK_THROWS_WITH(set_env(config, "A=B", "x"), Catch::Contains("invalid environment variable name 'A=B'"));
  CHECK_THROWS_WITH(set_env(config, "", "x"), Catch::Contains("must be non-empty"));
}

TEST_CASE("image: history lines up with layers", "[image]") {
  // USER 8737 / WORKDIR /home/argo / COPY x /etc/x / ENV A=1 / RUN true / CMD ["sh"]
  Image base = base_image();
  Image image;
  image.config = config_from_base(base.config, base.layers.size());
  image.layers = base.layers;
  set_created(image.config, 1700000000);

  set_user(image.config, "8737");
  append_empty_history(image, {"user: 8737", "", ""});
  set_working_dir(image.config, "/home/argo");
  append_layer(image, fake_layer('b'), {"workdir: /home/argo", "", ""});
  append_layer(image, fake_layer('c'), {"copy: x -> /etc/x", "", ""});
  set_env(image.config, "A", "1");
  append_empty_history(image, {"env: A=1", "", ""});
  append_empty_history(image, {"run: true", "no changes", ""});
  set_cmd(image.config, {"sh"});
  append_empty_history(image, {"cmd: [\"sh\"]", "", ""});

  const json& history = image.config["history"];
  REQUIRE(history.size() == 8);
  CHECK(history[0] == base.config["history"][0]);
  CHECK(history[1] == base.config["history"][1]);

  std::size_t non_empty = 0;
  for (const auto& entry : history)
    if (!entry.value("empty_layer", false)) ++non_empty;
  CHECK(non_empty == image.config["rootfs"]["diff_ids"].size());
  CHECK(non_empty == image.layers.size());
  CHECK_NOTHROW(check_layer_history(image));

  CHECK(history[2] == json::parse(R"({"created":"2023-11-14T22:13:20Z","created_by":"user: 8737","empty_layer":true})"));
  CHECK(history[3] == json::parse(R"({"created":"2023-11-14T22:13:20Z","created_by":"workdir: /home/argo"})"));
  CHECK(history[5]["empty_layer"] == true);
  CHECK(history[6]["comment"] == "no changes");
  CHECK(history[7]["empty_layer"] == true);
  CHECK(image.config["rootfs"]["diff_ids"][1] == fake_layer('b').diff_id.str());
  CHECK(image.config["rootfs"]["diff_ids"][2] == fake_layer('c').diff_id.str());

  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  CHECK(std::regex_match(image.config["created"].get<std::string>(), rfc3339));
  for (const auto& entry : history) CHECK(std::regex_match(entry["created"].get<std::string>(), rfc3339));
}

TEST_CASE("image: layer and history count mismatch", "[image]") {
  Image image;
  image.config = scratch_config(Platform{});
  append_layer(image, fake_layer('b'), {"copy: a", "", ""});
  image.config["history"].push_back({{"created_by", "extra"}});
  CHECK_THROWS_WITH(check_layer_history(image),
                    "image history has 2 entries without empty_layer but the config lists 1 diff_ids: "
                    "each layer needs exactly one history entry");

  image.layers.push_back(fake_layer('c'));
  CHECK_THROWS_WITH(check_layer_history(image), "image config lists 1 diff_ids but the image has 2 layers");
}

TEST_CASE("image: base without history gets entries", "[image]") {
  json base = base_image().config;
  base.erase("history");
  json config = config_from_base(base, 1);
  REQUIRE(config["history"].size() == 1);
  CHECK(config["history"][0]["comment"] == "base layer without history");
  CHECK(config["history"][0]["created"] == "2024-01-02T03:04:05.123456789Z");

  CHECK_THROWS_WITH(config_from_base(base, 2), Catch::Contains("lists 1 diff_ids but its manifest has 2 layers"));
}

TEST_CASE("image: config fields", "[image]") {
  json config = scratch_config(Platform{});
  set_entrypoint(config, {"/bin/app", "--serve"});
  set_cmd(config, {"--port", "80"});
  set_user(config, "app:app");
  set_stop_signal(config, "SIGINT");
  add_exposed_port(config, "8080");
  add_exposed_port(config, "53/udp");
  add_volume(config, "/data");
  set_label(config, "org.example.team", "infra");
  set_healthcheck(config, {{"CMD-SHELL", "curl -f http://127.0.0.1/ || exit 1"}, 30'000'000'000, 3'000'000'000,
                           5'000'000'000, 3});

  CHECK(canonical_json(config["config"]) ==
        R"({"Cmd":["--port","80"],"Entrypoint":["/bin/app","--serve"],"ExposedPorts":{"53/udp":{},"8080/tcp":{}},)"
        R"("Healthcheck":{"Interval":30000000000,"Retries":3,"StartPeriod":5000000000,"Test":["CMD-SHELL",)"
        R"("curl -f http://127.0.0.1/ || exit 1"],"Timeout":3000000000},"Labels":{"org.example.team":"infra"},)"
        R"("StopSignal":"SIGINT","User":"app:app","Volumes":{"/data":{}}})");

  auto healthcheck = get_healthcheck(config);
  REQUIRE(healthcheck);
  CHECK(healthcheck->interval_ns == 30'000'000'000);
  CHECK(healthcheck->retries == 3);
}

TEST_CASE("image: invalid config values", "[image]") {
  json config = scratch_config(Platform{});
  CHECK_THROWS_WITH(add_exposed_port(config, "0"), Catch::Contains("invalid exposed port '0'"));
  CHECK_THROWS_WITH(add_exposed_port(config, "70000/tcp"), Catch::Contains("PORT in 1-65535"));
  CHECK_THROWS_WITH(add_exposed_port(config, "80/http"), Catch::Contains("use tcp, udp or sctp"));
  CHECK_THROWS_WITH(add_volume(config, "data"), Catch::Contains("volume path 'data' is not absolute"));
  CHECK_THROWS_WITH(set_working_dir(config, "app"), Catch::Contains("working directory 'app' is not absolute"));
  CHECK_THROWS_WITH(set_healthcheck(config, {{"RUN", "x"}, 0, 0, 0, 0}), Catch::Contains("use CMD, CMD-SHELL or NONE"));
  CHECK_THROWS_WITH(set_healthcheck(config, {{"CMD", "x"}, -1, 0, 0, 0}), Catch::Contains("must not be negative"));
}

TEST_CASE("image: canonical json rejects invalid utf-8", "[image]") {
  json document = {{"key", std::string("bad \xff byte")}};
  CHECK_THROWS_WITH(canonical_json(document), Catch::Contains("cannot serialize JSON document"));
}
