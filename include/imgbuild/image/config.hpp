// SPDX-License-Identifier: Apache-2.0
// Editing an image config document (the JSON that a manifest's config
// descriptor points at). The same document serves the OCI and the Docker
// form: the fields below have the same names in both, and only Docker reads
// `config.Healthcheck`. Every setter writes plain data from its arguments,
// so a build with the same inputs gives the same config bytes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/image/image.hpp"

namespace imgbuild::image {

// Docker's HEALTHCHECK; durations are nanoseconds, as Docker stores them.
// `test` is ["CMD", arg...], ["CMD-SHELL", command] or ["NONE"].
struct Healthcheck {
  std::vector<std::string> test;
  std::int64_t interval_ns = 0;      // 0: the engine default (30 s in Docker)
  std::int64_t timeout_ns = 0;       // 0: the engine default (30 s)
  std::int64_t start_period_ns = 0;  // 0: the engine default (0 s)
  int retries = 0;                   // 0: the engine default (3)
};

// One `history` entry. `created` is filled from the build epoch by
// `append_layer` and `append_empty_history`.
struct HistoryEntry {
  std::string created_by;  // the recipe step, e.g. "run: apt-get install -y curl"
  std::string comment;
  std::string author;
};

// Formats unix seconds as RFC 3339 UTC with no fraction: 0 -> "1970-01-01T00:00:00Z".
std::string rfc3339_utc(std::int64_t epoch_seconds);

// Serializes JSON canonically: object keys sorted, no whitespace. The same
// document always gives the same bytes, which is what makes digests stable.
std::string canonical_json(const nlohmann::json& document);

// Returns a config for an image with no layers: platform, empty `config`,
// `rootfs` of type "layers" with no diff_ids, empty history.
nlohmann::json scratch_config(const Platform& platform);

// Returns a copy of a base image's config ready to build on: config fields,
// rootfs and history kept as they were. Throws when `rootfs.diff_ids` does
// not match the number of `base_layers`.
nlohmann::json config_from_base(const nlohmann::json& base_config, std::size_t base_layers);

// Reads the platform fields (os, architecture, variant) of a config.
Platform config_platform(const nlohmann::json& config);
void set_platform(nlohmann::json& config, const Platform& platform);

// Sets `created` to the build epoch (also used for every new history entry).
void set_created(nlohmann::json& config, std::int64_t epoch_seconds);

// Sets one environment variable. An existing key keeps its position and takes
// the new value; a new key goes last. Keys are case-sensitive, as in Docker.
void set_env(nlohmann::json& config, std::string_view key, std::string_view value);
// Returns the value of `key` in `config.Env`, or nothing.
std::optional<std::string> get_env(const nlohmann::json& config, std::string_view key);
// Returns `config.Env` as key -> value (the last value wins for a key that
// a base image listed twice).
std::map<std::string, std::string> env_map(const nlohmann::json& config);

void set_entrypoint(nlohmann::json& config, const std::vector<std::string>& entrypoint);
void set_cmd(nlohmann::json& config, const std::vector<std::string>& cmd);
void set_working_dir(nlohmann::json& config, std::string_view directory);
void set_user(nlohmann::json& config, std::string_view user);
void set_stop_signal(nlohmann::json& config, std::string_view signal);
// Adds "PORT/PROTO" (tcp when no protocol is given); throws on a bad port.
void add_exposed_port(nlohmann::json& config, std::string_view port);
// Adds an absolute volume path; throws on a relative one.
void add_volume(nlohmann::json& config, std::string_view path);
void set_label(nlohmann::json& config, std::string_view key, std::string_view value);
void set_healthcheck(nlohmann::json& config, const Healthcheck& healthcheck);
std::optional<Healthcheck> get_healthcheck(const nlohmann::json& config);

// Appends a layer to the image: layers, rootfs.diff_ids and a history entry
// without `empty_layer`, dated at the config's `created`.
void append_layer(Image& image, const Layer& layer, const HistoryEntry& entry);
// Appends a history entry with `empty_layer: true` for a step that changed
// only the config.
void append_empty_history(Image& image, const HistoryEntry& entry);

// Checks the invariants readers rely on: one diff_id per layer, in order,
// and as many non-empty history entries as layers (when there is history).
// Throws naming the counts.
void check_layer_history(const Image& image);

}  // namespace imgbuild::image
