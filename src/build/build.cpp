// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/build/build.hpp"

namespace imgbuild::build {

ExitCode run(const BuildOptions&) {
  // TODO: the pipeline is being assembled; until then a build stops here.
  fail("imgbuild build is not implemented yet");
}

}  // namespace imgbuild::build
