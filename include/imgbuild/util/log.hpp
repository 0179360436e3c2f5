// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

// Diagnostics on stderr. In `plain` and `tty` form each call prints one line
// prefixed "imgbuild: "; in `json` form each call prints one JSON object per
// line ({"event": "...", ...}) so CI can parse the stream. Thread-safe: lines
// from parallel stages never interleave.
namespace imgbuild::log {

enum class Format { plain, tty, json };

void set_format(Format format);
Format format();
void set_verbose(bool verbose);
bool verbose();

void info(std::string_view message);
void warn(std::string_view message);
// Printed only with --verbose; costs one branch when off.
void debug(std::string_view message);

// Emits a structured event: `json` prints `event` (its "event" key names the
// kind); `plain` and `tty` print `line` unless it is empty.
void event(const nlohmann::json& event, std::string_view line);

// Writes a raw line to stderr under the output lock, for live views.
void raw(std::string_view text);

}  // namespace imgbuild::log
