// SPDX-License-Identifier: Apache-2.0
// Step cache keys. A key is the SHA-256 of a canonical JSON document of the
// step's components; the components are stored with the cache entry so a
// later miss can name the one input that changed (--explain).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace imgbuild::build {

// Bumped whenever what a key covers, or how a step turns into a layer,
// changes; old entries then simply stop matching.
inline constexpr const char* cache_key_version = "imgbuild-step-cache-1";

// The components of one step's key. `parent` chains the key of the step
// before (or of the base), so a changed step invalidates everything after it.
struct KeyComponents {
  std::string parent;
  nlohmann::json definition;   // the step as written, after ${VAR} expansion
  nlohmann::json env;          // the environment the step sees, in order
  nlohmann::json args;         // the build args the step can see, name -> value
  std::string platform;
  std::string compression;
  std::string inputs;          // hash of copied files; empty for other steps
  nlohmann::json extra;        // step-kind specifics (user ids, shell)

  nlohmann::json to_json() const;
};

// Returns "sha256:<hex>" of the canonical serialization of `components`.
std::string compute_key(const KeyComponents& components);

// Returns a one-line reason naming the first component that differs between
// a previous and a current key, e.g. "build arg 'VERSION' changed ('1' -> '2')".
std::string explain_difference(const nlohmann::json& previous, const nlohmann::json& current);

}  // namespace imgbuild::build
