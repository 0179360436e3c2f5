// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "imgbuild/build/options.hpp"
#include "imgbuild/util/error.hpp"

namespace imgbuild::build {

// Builds the recipe named in `options`: resolves bases, runs every stage the
// target needs, writes the outputs and the report. Returns the exit code
// (success, or policy when the image violates the recipe's policy); throws
// Error for build failures.
ExitCode run(const BuildOptions& options);

}  // namespace imgbuild::build
