// SPDX-License-Identifier: Apache-2.0
// Parsers for the value forms a recipe and the command line share. Each
// throws Error (usage) whose message names the value and the accepted form.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/recipe/recipe.hpp"

namespace imgbuild::recipe {

// Parses a Go-style duration: "30s", "1m30s", "500ms", "1.5h", "0s".
// Units: ns, us (or µs), ms, s, m, h. Returns nanoseconds.
std::int64_t parse_duration(std::string_view text);

// Parses a size: a number and a unit B, kB (or KB), MB, GB, TB, KiB, MiB,
// GiB or TiB, with optional space between ("150MB", "1.5 GiB"). Returns bytes.
std::uint64_t parse_size(std::string_view text);

// Parses an exposed port: "8000", "8000/tcp", "53/udp", "9000-9002/sctp".
// Returns each port as "PORT/PROTOCOL" (tcp by default), ranges expanded.
std::vector<std::string> parse_port(std::string_view text);

// Parses an octal permission mode up to 07777 ("0644", "755", "4755").
std::uint32_t parse_mode(std::string_view text);

// An owner as written: the user part and the optional group part, each a
// name or a numeric id.
struct Owner {
  std::string user;
  std::optional<std::string> group;
};

// Parses "uid:gid", "uid", "name" or "name:group".
Owner parse_owner(std::string_view text);

// A parsed image reference (docker reference grammar).
struct ImageReference {
  std::string domain;                       // "docker.io" when the reference has none
  std::string path;                         // "library/debian" for "debian"
  std::optional<std::string> tag;
  std::optional<std::string> digest;        // "sha256:..."

  // The full name without tag and digest: "docker.io/library/debian".
  std::string name() const;
  // The normalized reference, with ":latest" when it has neither tag nor digest.
  std::string to_string() const;
};

// Parses a reference such as "debian:bookworm", "localhost:5000/app@sha256:...".
ImageReference parse_image_reference(std::string_view text);

// Checks a tag against the grammar [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
void check_tag(std::string_view tag);

// Checks an image tag given on the command line: a tag ("1.0", checked as
// by check_tag) or, when it contains '/', ':' or '@', a full reference
// ("localhost/app:1.0") without a digest. Throws a usage error naming it.
void check_tag_or_reference(std::string_view text);

// Parses a platform "os/arch[/variant]", returning its parts.
std::vector<std::string> parse_platform(std::string_view text);

// Parses an output: `oci:DIR[:TAG]`, `oci-archive:FILE`,
// `docker-archive:FILE` or `docker://REF`. Relative paths are resolved
// against `base_dir`.
Output parse_output(std::string_view text, const std::filesystem::path& base_dir);

// Parses "oci"/"docker", "gzip"/"zstd" and "host"/"none".
ImageFormat parse_image_format(std::string_view text);
Compression parse_compression(std::string_view text);
Network parse_network(std::string_view text);

// Checks a stop signal: a name such as "SIGINT" or "INT", or a number 1-64.
void check_signal(std::string_view text);

}  // namespace imgbuild::recipe
