// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/report/compare.hpp"

namespace imgbuild::report {

// A regular file of B that A lacks, or whose content may differ.
struct AddedFile {
  std::string path;
  std::uint64_t size = 0;
  int layer = 0;
  std::string step;
  bool modified = false;  // A has the path too, from another layer or with another size
};

// The result of `imgbuild diff A B`: B compared with A, plus B's largest new
// files and the bytes B ships for paths a later layer hid.
struct DiffReport {
  Report report;                        // B against A
  std::vector<AddedFile> largest_added; // up to 10, largest first
  std::vector<Overwrite> duplicated;    // paths of B written in more than one layer, most wasted first
  std::uint64_t wasted_bytes = 0;       // sum over `duplicated`
};

// Compares two snapshots. File-level results need both file lists
// (`has_files`); snapshots read from records or reports have none.
DiffReport diff_snapshots(const Snapshot& a, const Snapshot& b);

// Catalogues both images from the store's blobs and compares them.
DiffReport diff_images(const image::Image& a, const image::Image& b, const store::Store& store);

std::string render_diff_text(const DiffReport& diff);
// The report document with "largest_added", "duplicated" and "wasted_bytes" added.
nlohmann::json diff_to_json(const DiffReport& diff);

}  // namespace imgbuild::report
