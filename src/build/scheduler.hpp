// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace imgbuild::build {

// Runs `work(i)` for every node, each only after all of its dependencies
// finished, with at most `jobs` running at once. Nodes are started in the
// order given when several are ready. When a node throws, no further node
// starts; the running ones finish and the first exception is rethrown.
// `dependencies[i]` lists node indices that node i waits for.
void run_graph(std::size_t count, const std::vector<std::vector<std::size_t>>& dependencies, int jobs,
               const std::function<void(std::size_t)>& work);

}  // namespace imgbuild::build
