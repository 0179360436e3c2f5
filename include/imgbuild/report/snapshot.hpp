// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/report/catalog.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::report {

// One layer of the image as the report shows it.
struct LayerSummary {
  Digest digest;   // compressed blob
  Digest diff_id;  // uncompressed tar
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::string step;  // label of the step that made it ("runtime: RUN apt-get install ...")
};

struct BaseImage {
  std::string name;  // reference as written in the recipe, "debian:bookworm"
  Digest digest;     // manifest digest it resolved to
};

// A file the secret guard found but the recipe allowed, kept for audit.
struct AllowedSecret {
  std::string path;  // absolute path in the image
  std::string rule;  // the allow pattern or rule that let it through
};

// One policy violation.
struct Finding {
  std::string rule;     // "forbidden-package", "required-package", "forbidden-path",
                        // "max-compressed-size", "max-uncompressed-size", "non-root-user",
                        // "healthcheck"
  std::string subject;  // package display name, path, or size; empty for image-wide rules
  int layer = -1;       // layer that brought the subject in; -1 when none applies
  std::string step;     // that layer's step label
  std::string message;  // one sentence for the terminal
  std::string scope;    // stage name, or empty for the final image
};

// Open security issues of the installed Debian packages.
struct VulnerabilityCounts {
  std::string release;                               // "bookworm"
  std::map<std::string, std::uint64_t> by_urgency;   // "high" -> 3
  std::map<std::string, std::uint64_t> by_package;   // source package -> open issues
  std::uint64_t total = 0;
};

// Everything a build record keeps about one image, plus (in memory only)
// the merged file list that policies and `imgbuild diff` read.
struct Snapshot {
  std::string name;    // image name, "app:latest"
  std::string target;  // stage the build produced
  std::optional<Digest> manifest_digest;
  std::optional<Digest> config_digest;
  std::vector<BaseImage> bases;
  std::vector<LayerSummary> layers;
  std::vector<Package> packages;  // sorted by key
  OsRelease os;
  std::string user;  // config User
  std::optional<std::vector<std::string>> healthcheck;  // config Healthcheck.Test
  std::vector<Finding> findings;
  std::vector<AllowedSecret> allowed_secrets;
  std::optional<VulnerabilityCounts> vulnerabilities;
  std::int64_t started = 0;   // unix seconds
  std::int64_t finished = 0;  // unix seconds
  bool success = true;
  std::vector<Digest> extra_blobs;  // other blobs the build pins (stage configs, manifests)

  // Not written to records: a record stays small, and only fresh images need them.
  std::map<std::string, FileRecord> files;
  std::vector<Overwrite> overwrites;
  bool has_files = false;

  std::uint64_t compressed_size() const;
  std::uint64_t uncompressed_size() const;
  // Every digest the record pins: manifest, config, layers, extra blobs.
  std::vector<Digest> pinned_blobs() const;
};

// Converts to the record form documented in docs/report.md.
nlohmann::json to_json(const Snapshot& snapshot);
// Reads the record form; throws Error naming the bad field.
Snapshot snapshot_from_json(const nlohmann::json& json);

// Catalogues an image whose layer blobs are the files `blobs` (same order as
// `image.layers`). Step labels come from the config history's created_by.
Snapshot snapshot_of_layers(const image::Image& image, std::span<const fs::path> blobs);
// Same, reading the blobs from the store.
Snapshot snapshot_of_image(const image::Image& image, const store::Store& store);

}  // namespace imgbuild::report
