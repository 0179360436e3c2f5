// SPDX-License-Identifier: Apache-2.0
#include "build/keys.hpp"

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {

nlohmann::json KeyComponents::to_json() const {
  return {{"version", cache_key_version}, {"parent", parent},     {"definition", definition},
          {"env", env},                   {"args", args},         {"platform", platform},
          {"compression", compression},   {"inputs", inputs},     {"extra", extra}};
}

std::string compute_key(const KeyComponents& components) {
  // nlohmann::json objects are std::map based, so dump() sorts keys and the
  // serialization is canonical.
  return sha256_of(components.to_json().dump()).str();
}

namespace {

std::string short_value(const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return quote(text);
}

// Names the first differing member of two objects, one level deep.
std::string first_difference(const std::string& what, const nlohmann::json& before, const nlohmann::json& after) {
  if (before.is_object() && after.is_object()) {
    for (const auto& [name, value] : after.items()) {
      if (!before.contains(name)) return cat(what, " ", quote(name), " added");
      if (before[name] != value)
        return cat(what, " ", quote(name), " changed (", short_value(before[name]), " -> ", short_value(value), ")");
    }
    for (const auto& [name, value] : before.items())
      if (!after.contains(name)) return cat(what, " ", quote(name), " removed");
  }
  return cat(what, " changed");
}

}  // namespace

std::string explain_difference(const nlohmann::json& previous, const nlohmann::json& current) {
  if (previous.value("version", "") != current.value("version", "")) return "the cache format changed";
  // Build args and the environment also show inside a run step's
  // definition, so they are named first: they are the cause.
  if (previous["args"] != current["args"]) return first_difference("build arg", previous["args"], current["args"]);
  if (previous["env"] != current["env"]) return "environment changed";
  if (previous["inputs"] != current["inputs"]) return "copied files changed";
  if (previous["definition"] != current["definition"])
    return first_difference("step definition", previous["definition"], current["definition"]);
  if (previous["platform"] != current["platform"]) return "platform changed";
  if (previous["compression"] != current["compression"]) return "layer compression changed";
  if (previous["extra"] != current["extra"]) return first_difference("step setting", previous["extra"], current["extra"]);
  if (previous["parent"] != current["parent"]) return "an earlier step or the base changed";
  return "no previous entry for this step";
}

}  // namespace imgbuild::build
