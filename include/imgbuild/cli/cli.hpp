// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace imgbuild::cli {

// Parses the command line, runs the verb and returns the process exit code.
// The one place where imgbuild::Error is caught and printed.
int main(int argc, char** argv);

}  // namespace imgbuild::cli
