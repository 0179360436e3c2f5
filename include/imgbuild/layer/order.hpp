// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>
#include <vector>

#include "imgbuild/layer/entry.hpp"

namespace imgbuild::layer {

// Orders paths the way layers are written: depth first, children of one
// directory by byte value, except that the opaque marker and then the
// whiteouts (".wh.NAME") come before their other siblings. Every directory
// comes before its contents. Matches `tar --sort=name` for trees without
// whiteouts.
bool path_before(std::string_view a, std::string_view b);

// Checks each path (relative, no "", "." or ".." components, no trailing
// '/') and rejects duplicates and real entries named ".wh.*". Then sorts
// with `path_before` and rewrites hardlinks so every name of an inode
// points at the first name written, which carries the content. Throws
// naming the entry on any violation.
void sort_entries(std::vector<Entry>& entries);

}  // namespace imgbuild::layer
