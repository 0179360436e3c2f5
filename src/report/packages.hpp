// SPDX-License-Identifier: Apache-2.0
// The catalogue's file selection and the parsing of those files into
// packages. The layer walker feeds it, so nothing here reads tars.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/report/catalog.hpp"

namespace imgbuild::report::detail {

enum class Interest {
  none,
  dpkg_status,       // /var/lib/dpkg/status
  dpkg_status_d,     // /var/lib/dpkg/status.d/NAME (distroless), not *.md5sums
  dpkg_list,         // /var/lib/dpkg/info/NAME.list, for Python metadata dpkg owns
  python_metadata,   // .../site-packages/X.dist-info/METADATA (or dist-packages)
  python_record,     // .../X.dist-info/RECORD
  python_installer,  // .../X.dist-info/INSTALLER
  egg_info_file,     // .../site-packages/X.egg-info as a single PKG-INFO file
  egg_info_pkg_info, // .../site-packages/X.egg-info/PKG-INFO
  os_release,        // /etc/os-release, /usr/lib/os-release
  debian_version,    // /etc/debian_version
};

// Classifies an absolute path of the merged filesystem.
Interest classify(std::string_view path);

// Reduces a file's content to what the catalogue needs: a dpkg .list keeps
// only its Python metadata paths, so a full system's lists stay small.
std::string keep_content(Interest interest, std::string content);

// Absolute path -> content of every interesting regular file.
using InterestingFiles = std::map<std::string, std::string>;

// Builds the package list (sorted by key, layer left at -1).
std::vector<Package> catalogue(const InterestingFiles& files);

OsRelease read_os_release(const InterestingFiles& files);

}  // namespace imgbuild::report::detail
