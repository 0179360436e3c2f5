// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "imgbuild/report/snapshot.hpp"

namespace imgbuild::report {

struct SbomOptions {
  std::string tool_version;  // imgbuild's version, for "Tool: imgbuild-<version>"
  std::int64_t created = 0;  // build epoch (unix seconds), so rebuilds give equal documents
};

// Returns the package URL of `package`:
// "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12" or
// "pkg:pypi/requests@2.31.0". Name, version and qualifier values are
// percent-encoded; the distro qualifier is left out when os-release lacks ID
// or VERSION_ID.
std::string package_url(const Package& package, const OsRelease& os);

// Returns a name-based UUID (version 5, URL namespace) of "imgbuild:<digest>".
std::string uuid_for_digest(const Digest& digest);

// Builds an SPDX 2.3 JSON document: the image as the described package,
// each catalogued package contained in it. Deterministic for a given
// snapshot and options: the namespace derives from the manifest digest.
nlohmann::json spdx_document(const Snapshot& snapshot, const SbomOptions& options);

// Builds a CycloneDX 1.5 JSON BOM: the image as metadata.component, each
// catalogued package a library component. The serial number derives from
// the manifest digest.
nlohmann::json cyclonedx_document(const Snapshot& snapshot, const SbomOptions& options);

}  // namespace imgbuild::report
