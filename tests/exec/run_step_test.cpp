// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "imgbuild/exec/run_step.hpp"
#include "imgbuild/exec/runtime.hpp"
#include "imgbuild/layer/scan.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "exec/step_fixture.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::exec;
using imgbuild::test::list_tree;
using imgbuild::test::write;

namespace {

std::string xattr(const fs::path& path, const char* name) {
  char value[64];
  ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return size > 0 ? std::string(value, static_cast<std::size_t>(size)) : std::string();
}


char entry_kind(const layer::Entry& entry) {
  switch (entry.type) {
    case layer::EntryType::directory: return 'd';
    case layer::EntryType::symlink: return 'l';
    case layer::EntryType::regular: return 'f';
    default: return '?';
  }
}

}  // namespace

TEST_CASE("exec: step changes land in upper dir", "[exec]") {
  if (!test::is_root()) {
    WARN("skipped: needs root for overlay mounts");
    return;
  }
  test::StepFixture fixture;
  fs::path layer = fixture.dir / "layer1";
  write(layer / "data/keep/a", "a\n");
  write(layer / "data/gone.txt", "gone\n");
  write(layer / "data/modify.txt", "one\n");
  write(layer / "data/dir-gone/x", "x\n");
  write(layer / "data/replace/old1", "old\n");

  RunRequest request = fixture.request({fixture.base, layer},
                                       "set -e\n"
                                       "mkdir /new && echo hi > /new/file\n"
                                       "echo two >> /data/modify.txt\n"
                                       "rm /data/gone.txt\n"
                                       "rm -r /data/dir-gone\n"
                                       "rm -r /data/replace && mkdir /data/replace && echo n > /data/replace/new1\n"
                                       "ln -s keep/a /data/link\n"
                                       "chmod 0700 /data/keep\n");
  StepResult result = run_step(request);
  INFO(join(result.last_lines, "\n"));
  REQUIRE(result.runtime_error.empty());
  REQUIRE(result.exit_code == 0);

  std::vector<std::string> expected = {
      "c 0000 0:0 data/dir-gone 0:0",
      "c 0000 0:0 data/gone.txt 0:0",
      "d 0700 0:0 data/keep/",
      "d 0755 0:0 data/",
      "d 0755 0:0 data/replace/",
      "d 0755 0:0 new/",
      "f 0644 0:0 2 data/replace/new1",
      "f 0644 0:0 3 new/file",
      "f 0644 0:0 8 data/modify.txt",
      "l 0:0 data/link -> keep/a",
  };
  CHECK(list_tree(result.upper_dir) == expected);
  CHECK(xattr(result.upper_dir / "data/replace", "trusted.overlay.opaque") == "y");
  CHECK(xattr(result.upper_dir / "data", "trusted.overlay.opaque").empty());
  CHECK(xattr(result.upper_dir / "new", "trusted.overlay.opaque").empty());
  CHECK(read_file(result.upper_dir / "data/modify.txt") == "one\ntwo\n");

  std::vector<std::string> changes;
  for (const auto& entry : layer::changes_from_overlay_upper(result.upper_dir))
    changes.push_back(cat(entry_kind(entry), " ", entry.path));
  std::vector<std::string> expected_changes = {
      "d data",
      "f data/.wh.dir-gone",
      "f data/.wh.gone.txt",
      "d data/keep",
      "l data/link",
      "f data/modify.txt",
      "d data/replace",
      "f data/replace/.wh..wh..opq",
      "f data/replace/new1",
      "d new",
      "f new/file",
  };
  CHECK(changes == expected_changes);
}
