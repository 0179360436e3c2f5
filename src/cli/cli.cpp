// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/cli/cli.hpp"

#include <cstdio>

namespace imgbuild::cli {

// TODO: replaced by the CLI11 front end.
int main(int, char**) {
  std::puts("imgbuild");
  return 0;
}

}  // namespace imgbuild::cli
