// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/report/snapshot.hpp"

namespace imgbuild::report {

struct PackageChange {
  Package before;
  Package after;
};

struct BaseMove {
  std::string name;
  Digest before;
  Digest after;
};

struct LayerRow {
  int index = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::string step;
  bool reused = false;  // the previous build had a layer with the same diff_id
};

// The current build against the previous one (or against nothing).
struct Report {
  Snapshot current;
  std::optional<Snapshot> previous;

  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::int64_t compressed_delta = 0;    // 0 without a previous build
  std::int64_t uncompressed_delta = 0;
  std::vector<LayerRow> layers;

  std::vector<Package> added;           // without a previous build: empty
  std::vector<Package> removed;
  std::vector<PackageChange> changed;   // same key, other version
  std::vector<BaseMove> bases_moved;    // same base name, other digest

  // Urgency -> change of open issues; empty unless both builds were counted.
  std::map<std::string, std::int64_t> vulnerability_delta;

  // True when packages, bases or sizes differ from the previous build.
  bool has_changes() const;
};

// Compares `current` with `previous` (nothing for a first build).
Report compare(const std::optional<Snapshot>& previous, const Snapshot& current);

// Renders a few aligned lines for the terminal, sizes with human_bytes.
std::string render_text(const Report& report);

// The --report document, schema in docs/report.md. Its "current" member is
// a build record, so the file can serve as a later --baseline.
nlohmann::json report_to_json(const Report& report);

}  // namespace imgbuild::report
