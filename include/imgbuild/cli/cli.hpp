// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "imgbuild/build/options.hpp"

namespace imgbuild::cli {

// Parses the command line, runs the verb and returns the process exit code.
// The one place where imgbuild::Error is caught and printed.
int main(int argc, char** argv);

// Parses the arguments of `imgbuild build` (without the verb) into options.
// Throws Error (usage) for unknown flags and invalid values.
build::BuildOptions parse_build_options(const std::vector<std::string>& args);

}  // namespace imgbuild::cli
