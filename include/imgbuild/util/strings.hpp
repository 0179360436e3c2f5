// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild {

std::vector<std::string> split(std::string_view text, char separator);
std::string join(std::span<const std::string> parts, std::string_view separator);
std::string_view trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);

// Returns the Damerau-Levenshtein distance, used for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Returns the candidate closest to `word`, or nothing when none is close
// enough to be a plausible typo (distance above a third of the length, min 2).
std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates);

// Formats a byte count the way `du -h` users read it: "1.4 MB", "812 kB".
// Units are powers of 1000 so the figures match registry and podman output.
std::string human_bytes(std::uint64_t bytes);

// Formats a signed byte difference with an explicit sign: "+1.2 MB", "-4 kB", "0 B".
std::string human_delta(std::int64_t bytes);

// Quotes a string for an error message or log: printable ASCII stays as it is,
// other bytes become \xNN so a name with a newline cannot forge log lines.
std::string quote(std::string_view text);

// Returns the length of the valid UTF-8 sequence that starts at `text[i]`,
// or 0 when the bytes there are not one (overlong forms, UTF-16 surrogates
// and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// Returns `text` when it is valid UTF-8, else a copy with each byte that is
// not part of a valid sequence written as "\xNN" (and '\' as "\\"), so
// file names that are raw bytes can go into JSON, which only carries UTF-8.
std::string utf8_or_escaped(std::string_view text);

// Matches `text` against a shell glob with `*`, `?` and `[...]`; `*` and `?`
// match `/` too. Used for package and path patterns in policies.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace imgbuild
