// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/cli/cli.hpp"

int main(int argc, char** argv) { return imgbuild::cli::main(argc, argv); }
