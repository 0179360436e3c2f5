// SPDX-License-Identifier: Apache-2.0
// Debian package-set bases: a root filesystem made by mmdebstrap from a
// suite and a package list, turned into one deterministic layer and cached in
// the store under a key of its inputs. docs/bases.md describes the behavior.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/image/image.hpp"

namespace imgbuild::base {

inline constexpr const char* default_debian_mirror = "http://deb.debian.org/debian";
inline constexpr const char* snapshot_archive_root = "http://snapshot.debian.org/archive/";

// The inputs of a Debian base. Everything here is part of the cache key.
struct DebianBase {
  std::string suite{};                      // "bookworm"
  std::string variant = "minbase";          // an mmdebstrap --variant
  std::vector<std::string> packages{};      // installed on top of the variant
  std::optional<std::string> architecture{};// Debian name ("amd64"); nothing: from the platform
  std::optional<std::string> snapshot{};    // "20241201T000000Z": use snapshot.debian.org
  std::optional<std::string> mirror{};      // nothing: deb.debian.org, or the snapshot archive
  std::vector<std::string> sources{};       // extra one-line entries: "deb [trusted=yes] file:///repo ./"
};

// One installed package as recorded in var/lib/dpkg/status.
struct Package {
  std::string name;
  std::string version;
  std::string architecture;
  auto operator<=>(const Package&) const = default;
};

// A package whose version differs between two lists. An empty `old_version`
// means it was added, an empty `new_version` that it was removed.
struct PackageChange {
  std::string name;
  std::string old_version;
  std::string new_version;
  auto operator<=>(const PackageChange&) const = default;
};

// The outcome of building or reusing a Debian base.
struct DebianBaseResult {
  image::Image image;
  std::vector<Package> packages;  // sorted by name, then architecture
  // With `pull`, the package list the cache held before the rebuild; nothing
  // when there was no cached base or the cached base was reused.
  std::optional<std::vector<Package>> previous_packages;
  bool cached = false;     // true: reused from the store without mmdebstrap
  std::string cache_key;   // 64 hex characters
};

struct BaseContext;

// Builds the base with mmdebstrap, or reuses the store's cached copy unless
// `context.pull` is set. Throws Error when mmdebstrap fails.
DebianBaseResult build_debian_base(const DebianBase& base, BaseContext& context);

// Returns the sources.list lines mmdebstrap gets: the suite, its -updates
// and -security suites (for stable releases), then the extra sources.
std::vector<std::string> debian_source_lines(const DebianBase& base);

// Returns the Debian architecture for an OCI platform ("arm/v7" -> "armhf");
// throws Error for a platform Debian does not build for.
std::string debian_architecture(const image::Platform& platform);

// Returns the OCI platform of a Debian architecture ("arm64" -> arm64/v8).
image::Platform oci_platform(std::string_view debian_architecture);

// Returns the Debian architecture of this machine (`dpkg --print-architecture`).
std::string host_debian_architecture();

// Returns the store cache key of a base built for `architecture`: sha256 of
// the inputs with the package list sorted and deduplicated.
std::string debian_cache_key(const DebianBase& base, std::string_view architecture);

// Returns the installed packages of a dpkg status file, sorted.
std::vector<Package> parse_dpkg_status(std::string_view status);

// Returns the packages added, removed or changed in version, sorted by name.
std::vector<PackageChange> diff_packages(const std::vector<Package>& before,
                                         const std::vector<Package>& after);

// Returns the one-line summary used in logs and history: "debian bookworm
// minbase: python3 git".
std::string describe(const DebianBase& base);

}  // namespace imgbuild::base
