// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/xattr.h>

#include "exec/step_fixture.hpp"
#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::exec;

TEST_CASE("exec: many long lower dirs still mount", "[exec]") {
  SKIP_UNLESS_ROOT();
  test::StepFixture fixture;
  std::vector<fs::path> lowers = {fixture.base};
  fs::path parent = fixture.dir / std::string(80, 'p');
  constexpr int layer_count = 120;
  for (int i = 0; i < layer_count; ++i) {
    fs::path layer = parent / cat("layer-", i);
    test::write(layer / cat("files/f", i), cat(i, "\n"));
    lowers.push_back(layer);
  }
  // Layer 100 deletes f3, and layer 101 makes "files" opaque with one file.
  REQUIRE(::mknod((parent / "layer-100/files/f3").c_str(), S_IFCHR, 0) == 0);
  fs::remove(parent / "layer-101/files/f101");
  test::write(parent / "layer-101/files/only", "only\n");
  REQUIRE(::setxattr((parent / "layer-101/files").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  test::write(parent / "layer-0/gone-dir/inner", "x\n");
  REQUIRE(::mknod((parent / "layer-50/gone-dir").c_str(), S_IFCHR, 0) == 0);

  RunRequest request = fixture.request(lowers, "ls /files | wc -l; cat /files/only; cat /files/f119; "
                                               "ls /files/f3 /files/f0 /gone-dir 2>&1 | wc -l");
  StepResult result = run_step(request);
  INFO(join(result.last_lines, "\n") << result.runtime_error);
  REQUIRE(result.exit_code == 0);
  CHECK(result.last_lines == std::vector<std::string>{"19", "only", "119", "3"});
}
