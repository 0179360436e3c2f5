// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/image/config.hpp"

#include <charconv>
#include <ctime>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

using nlohmann::json;

// Returns config.config, creating it as an object when missing or null
// (scratch images and some base images store `"config": null`).
json& container_config(json& config) {
  json& inner = config["config"];
  if (!inner.is_object()) inner = json::object();
  return inner;
}

json& object_field(json& parent, const char* key) {
  json& field = parent[key];
  if (!field.is_object()) field = json::object();
  return field;
}

std::string_view env_key(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

json history_json(const json& config, const HistoryEntry& entry, bool empty_layer) {
  json history = json::object();
  history["created"] = config.value("created", rfc3339_utc(0));
  history["created_by"] = entry.created_by;
  if (!entry.comment.empty()) history["comment"] = entry.comment;
  if (!entry.author.empty()) history["author"] = entry.author;
  // Docker and the OCI spec omit the field when false; so do we.
  if (empty_layer) history["empty_layer"] = true;
  return history;
}

json& history_array(json& config) {
  json& history = config["history"];
  if (!history.is_array()) history = json::array();
  return history;
}

}  // namespace

std::string rfc3339_utc(std::int64_t epoch_seconds) {
  std::time_t time = static_cast<std::time_t>(epoch_seconds);
  std::tm utc{};
  if (!::gmtime_r(&time, &utc)) fail("timestamp ", epoch_seconds, " is out of range for a UTC date");
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string canonical_json(const json& document) {
  // nlohmann::json keeps objects in a std::map, so keys come out sorted;
  // dump() with no indent writes no whitespace. Invalid UTF-8 is an error
  // rather than a silent replacement, so a digest never covers mangled text.
  try {
    return document.dump();
  } catch (const json::exception& error) {
    fail("cannot serialize JSON document: ", error.what());
  }
}

json scratch_config(const Platform& platform) {
  json config = json::object();
  set_platform(config, platform);
  config["config"] = json::object();
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", json::array()}};
  config["history"] = json::array();
  set_created(config, 0);
  return config;
}

json config_from_base(const json& base_config, std::size_t base_layers) {
  if (!base_config.is_object()) fail("base image config is not a JSON object");
  json config = base_config;
  json& rootfs = object_field(config, "rootfs");
  rootfs["type"] = "layers";
  if (!rootfs["diff_ids"].is_array()) rootfs["diff_ids"] = json::array();
  if (rootfs["diff_ids"].size() != base_layers)
    fail("base image config lists ", rootfs["diff_ids"].size(), " diff_ids but its manifest has ",
         base_layers, " layers: the base image is inconsistent; rebuild or re-pull it");
  container_config(config);

  // A base without any history (some hand-made images) would break the rule
  // that non-empty history entries match the layers, so give each base layer
  // an entry. A base that has history keeps it exactly as it was.
  json& history = history_array(config);
  if (history.empty()) {
    for (std::size_t i = 0; i < base_layers; ++i)
      history.push_back({{"created", config.value("created", rfc3339_utc(0))},
                         {"created_by", ""},
                         {"comment", "base layer without history"}});
  }
  return config;
}

Platform config_platform(const json& config) {
  Platform platform;
  platform.os = config.value("os", "");
  platform.architecture = config.value("architecture", "");
  platform.variant = config.value("variant", "");
  return platform;
}

void set_platform(json& config, const Platform& platform) {
  if (platform.os.empty() || platform.architecture.empty())
    fail("platform needs an os and an architecture, got ", quote(platform.os), "/", quote(platform.architecture));
  config["os"] = platform.os;
  config["architecture"] = platform.architecture;
  if (platform.variant.empty())
    config.erase("variant");
  else
    config["variant"] = platform.variant;
}

void set_created(json& config, std::int64_t epoch_seconds) { config["created"] = rfc3339_utc(epoch_seconds); }

void set_env(json& config, std::string_view key, std::string_view value) {
  if (key.empty() || key.find('=') != std::string_view::npos)
    fail("invalid environment variable name ", quote(key), ": it must be non-empty and contain no '='");
  json& inner = container_config(config);
  json& env = inner["Env"];
  if (!env.is_array()) env = json::array();
  std::string entry = cat(key, "=", value);

  // Replace the first entry with this key and drop any later duplicates a
  // base image may carry, so each key appears once with its last value.
  json result = json::array();
  bool placed = false;
  for (const auto& existing : env) {
    std::string text = existing.is_string() ? existing.get<std::string>() : std::string();
    if (env_key(text) != key) {
      result.push_back(existing);
    } else if (!placed) {
      result.push_back(entry);
      placed = true;
    }
  }
  if (!placed) result.push_back(entry);
  env = std::move(result);
}

std::optional<std::string> get_env(const json& config, std::string_view key) {
  auto values = env_map(config);
  auto found = values.find(std::string(key));
  if (found == values.end()) return std::nullopt;
  return found->second;
}

std::map<std::string, std::string> env_map(const json& config) {
  std::map<std::string, std::string> values;
  if (!config.contains("config") || !config["config"].is_object()) return values;
  const json& inner = config["config"];
  if (!inner.contains("Env") || !inner["Env"].is_array()) return values;
  for (const auto& entry : inner["Env"]) {
    if (!entry.is_string()) continue;
    std::string text = entry.get<std::string>();
    auto equals = text.find('=');
    if (equals == std::string::npos)
      values[text] = "";
    else
      values[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return values;
}

void set_entrypoint(json& config, const std::vector<std::string>& entrypoint) {
  container_config(config)["Entrypoint"] = entrypoint;
}

void set_cmd(json& config, const std::vector<std::string>& cmd) { container_config(config)["Cmd"] = cmd; }

void set_working_dir(json& config, std::string_view directory) {
  if (!directory.starts_with('/'))
    fail("working directory ", quote(directory), " is not absolute: start it with '/'");
  container_config(config)["WorkingDir"] = std::string(directory);
}

void set_user(json& config, std::string_view user) { container_config(config)["User"] = std::string(user); }

void set_stop_signal(json& config, std::string_view signal) {
  if (signal.empty()) fail("stop signal is empty: give a name such as 'SIGTERM' or a number");
  container_config(config)["StopSignal"] = std::string(signal);
}

void add_exposed_port(json& config, std::string_view port) {
  std::string_view number = port.substr(0, port.find('/'));
  std::string protocol = port.find('/') == std::string_view::npos ? "tcp" : std::string(port.substr(port.find('/') + 1));
  unsigned value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size() || value == 0 || value > 65535)
    fail("invalid exposed port ", quote(port), ": expected PORT or PORT/PROTOCOL with PORT in 1-65535");
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
    fail("invalid protocol in exposed port ", quote(port), ": use tcp, udp or sctp");
  object_field(container_config(config), "ExposedPorts")[cat(value, "/", protocol)] = json::object();
}

void add_volume(json& config, std::string_view path) {
  if (!path.starts_with('/')) fail("volume path ", quote(path), " is not absolute: start it with '/'");
  object_field(container_config(config), "Volumes")[std::string(path)] = json::object();
}

void set_label(json& config, std::string_view key, std::string_view value) {
  if (key.empty()) fail("label key is empty");
  object_field(container_config(config), "Labels")[std::string(key)] = std::string(value);
}

void set_healthcheck(json& config, const Healthcheck& healthcheck) {
  if (healthcheck.test.empty()) fail("healthcheck test is empty: give [\"CMD\", ...], [\"CMD-SHELL\", ...] or [\"NONE\"]");
  const std::string& kind = healthcheck.test.front();
  if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE")
    fail("healthcheck test starts with ", quote(kind), ": use CMD, CMD-SHELL or NONE");
  if (healthcheck.interval_ns < 0 || healthcheck.timeout_ns < 0 || healthcheck.start_period_ns < 0 ||
      healthcheck.retries < 0)
    fail("healthcheck durations and retries must not be negative");

  // Docker omits zero durations and retries, meaning "use the default".
  json check = {{"Test", healthcheck.test}};
  if (healthcheck.interval_ns) check["Interval"] = healthcheck.interval_ns;
  if (healthcheck.timeout_ns) check["Timeout"] = healthcheck.timeout_ns;
  if (healthcheck.start_period_ns) check["StartPeriod"] = healthcheck.start_period_ns;
  if (healthcheck.retries) check["Retries"] = healthcheck.retries;
  container_config(config)["Healthcheck"] = std::move(check);
}

std::optional<Healthcheck> get_healthcheck(const json& config) {
  if (!config.contains("config") || !config["config"].is_object()) return std::nullopt;
  const json& inner = config["config"];
  if (!inner.contains("Healthcheck") || !inner["Healthcheck"].is_object()) return std::nullopt;
  const json& check = inner["Healthcheck"];
  Healthcheck healthcheck;
  healthcheck.test = check.value("Test", std::vector<std::string>{});
  healthcheck.interval_ns = check.value("Interval", std::int64_t{0});
  healthcheck.timeout_ns = check.value("Timeout", std::int64_t{0});
  healthcheck.start_period_ns = check.value("StartPeriod", std::int64_t{0});
  healthcheck.retries = check.value("Retries", 0);
  return healthcheck;
}

void append_layer(Image& image, const Layer& layer, const HistoryEntry& entry) {
  json& rootfs = object_field(image.config, "rootfs");
  rootfs["type"] = "layers";
  if (!rootfs["diff_ids"].is_array()) rootfs["diff_ids"] = json::array();
  rootfs["diff_ids"].push_back(layer.diff_id.str());
  image.layers.push_back(layer);
  history_array(image.config).push_back(history_json(image.config, entry, false));
}

void append_empty_history(Image& image, const HistoryEntry& entry) {
  history_array(image.config).push_back(history_json(image.config, entry, true));
}

void check_layer_history(const Image& image) {
  const json& config = image.config;
  std::size_t diff_ids = 0;
  if (config.contains("rootfs") && config["rootfs"].contains("diff_ids"))
    diff_ids = config["rootfs"]["diff_ids"].size();
  if (diff_ids != image.layers.size())
    fail("image config lists ", diff_ids, " diff_ids but the image has ", image.layers.size(), " layers");
  for (std::size_t i = 0; i < diff_ids; ++i) {
    if (config["rootfs"]["diff_ids"][i] != image.layers[i].diff_id.str())
      fail("diff_id ", i, " in the config is ", config["rootfs"]["diff_ids"][i].dump(), " but layer ", i,
           " has diff_id ", image.layers[i].diff_id.str());
  }

  if (!config.contains("history") || !config["history"].is_array() || config["history"].empty()) return;
  std::size_t non_empty = 0;
  for (const auto& entry : config["history"])
    if (!entry.value("empty_layer", false)) ++non_empty;
  if (non_empty != diff_ids)
    fail("image history has ", non_empty, " entries without empty_layer but the config lists ", diff_ids,
         " diff_ids: each layer needs exactly one history entry");
}

}  // namespace imgbuild::image
