// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "imgbuild/report/snapshot.hpp"

// Build records: one JSON file per build at
// <records dir>/<escaped name>/<escaped target>/<seq>.json, seq counting
// from 000001. The store's prune keeps every blob a record's "blobs" lists.
namespace imgbuild::report {

// Escapes a name for one directory level: bytes other than letters, digits,
// '.', '-' and '_' become %XX, so "registry:5000/app:1" stays one level.
std::string escape_record_name(std::string_view name);

// Writes `snapshot` as the next record of its name and target; returns the
// file written. Concurrent writers get distinct sequence numbers.
fs::path write_record(const fs::path& records_dir, const Snapshot& snapshot);
fs::path write_record(const store::Store& store, const Snapshot& snapshot);

// Returns the newest successful record of `name` and `target`, or nothing.
// Unreadable records are skipped with a warning.
std::optional<Snapshot> find_previous_build(const fs::path& records_dir, std::string_view name,
                                            std::string_view target);
std::optional<Snapshot> find_previous_build(const store::Store& store, std::string_view name,
                                            std::string_view target);

// True when `path` is a JSON file (a record or a --report document) rather
// than an image archive; --baseline uses it to choose how to load.
bool is_json_file(const fs::path& path);

// Reads a --baseline or `imgbuild diff` JSON file: a build record, or a
// --report document (whose "current" member is a record).
Snapshot load_snapshot_file(const fs::path& path);

}  // namespace imgbuild::report
