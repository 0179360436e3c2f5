// SPDX-License-Identifier: Apache-2.0
#include "exec/step_fixture.hpp"

#include <algorithm>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

namespace imgbuild::test {

StepFixture::StepFixture() : base(dir / "base") { make_busybox_rootfs(base); }

exec::RunRequest StepFixture::request(std::vector<std::filesystem::path> lowers, const std::string& script) {
  exec::RunRequest request;
  request.label = "test/step";
  request.lower_dirs = std::move(lowers);
  request.scratch_dir = dir / cat("scratch-", requests_++);
  request.argv = {"/bin/sh", "-c", script};
  request.env = {"SOURCE_DATE_EPOCH=0"};
  request.hostname = "builder";
  return request;
}

std::vector<std::string> mounts_under(const std::filesystem::path& prefix) {
  std::vector<std::string> found;
  for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
    auto fields = split(line, ' ');
    if (fields.size() > 4 && starts_with(fields[4], prefix.string())) found.push_back(fields[4]);
  }
  return found;
}

std::vector<std::string> entries_of(const std::filesystem::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace imgbuild::test
