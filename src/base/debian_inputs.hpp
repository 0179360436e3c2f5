// SPDX-License-Identifier: Apache-2.0
// Internal helpers of Debian bases, shared by the build and its tests.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/base/debian.hpp"

namespace imgbuild::base {

namespace fs = std::filesystem;

// Throws Error (exit code `usage`) naming the first invalid input.
void check_debian_base(const DebianBase& base);

// Returns the package list sorted and without duplicates.
std::vector<std::string> sorted_packages(const DebianBase& base);

// Returns the directories of file:// URIs in the extra sources.
std::vector<std::string> file_source_paths(const DebianBase& base);

// Returns the mmdebstrap command line that builds `base` into the directory
// `target`.
std::vector<std::string> mmdebstrap_arguments(const DebianBase& base, std::string_view program,
                                              std::string_view architecture, const fs::path& target);

// Returns the cache key's components, stored with the cache entry so a later
// rebuild can name what changed.
nlohmann::json debian_key_components(const DebianBase& base, std::string_view architecture);

// Makes an mmdebstrap output directory into a container base: writes the apt
// settings, removes host- and run-specific files, empties /dev and removes
// the mount points left by file:// sources. Every step is documented in
// docs/bases.md.
void finish_rootfs(const fs::path& root, const DebianBase& base);

// The apt.conf.d files `finish_rootfs` writes: name -> content.
const std::vector<std::pair<std::string, std::string>>& apt_settings_files();

}  // namespace imgbuild::base
