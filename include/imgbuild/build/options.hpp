// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace imgbuild::build {

// A secret given on the command line: `--secret id=NAME,src=FILE` or
// `--secret id=NAME,env=VAR`. The value is read only when a step mounts it.
struct SecretSource {
  std::string id;
  std::filesystem::path file;  // set for src=
  std::string env;             // set for env=
};

enum class Progress { automatic, plain, tty, json };

// Everything the command line can set for `imgbuild build`. Unset optionals
// fall back to the recipe, then to the defaults in docs/recipe.md.
struct BuildOptions {
  std::filesystem::path recipe;
  std::optional<std::string> target;                 // --target STAGE
  std::map<std::string, std::string> build_args;     // --build-arg K=V
  std::vector<SecretSource> secrets;                 // --secret
  std::vector<std::string> tags;                     // -t/--tag, full references or bare tags
  std::vector<std::string> outputs;                  // --output TRANSPORT:REF
  std::optional<std::string> platform;               // --platform os/arch[/variant]
  std::optional<std::string> format;                 // --format oci|docker
  std::optional<std::string> compression;            // --compression gzip|zstd
  bool no_cache = false;                             // --no-cache
  bool pull = false;                                 // --pull
  bool locked = false;                               // --locked
  bool explain = false;                              // --explain
  bool load = false;                                 // --load
  Progress progress = Progress::automatic;           // --progress
  std::optional<std::filesystem::path> store;        // --store DIR
  std::optional<std::filesystem::path> report;       // --report FILE
  std::optional<std::filesystem::path> metadata_file;// --metadata-file FILE
  std::optional<std::string> baseline;               // --baseline REPORT.json|IMAGE
  std::optional<std::filesystem::path> vulns;        // --vulns FILE
  std::optional<std::string> runtime;                // --runtime runc|crun
  std::optional<std::string> network;                // --network host|none (default for run steps)
  std::vector<std::string> insecure_registries;      // --insecure-registry HOST[:PORT]
  std::map<std::string, std::filesystem::path> registry_ca_files;  // --registry-ca HOST=FILE
  int jobs = 0;                                      // --jobs N; 0: number of cores
  bool verbose = false;                              // --verbose
};

}  // namespace imgbuild::build
