// SPDX-License-Identifier: Apache-2.0
#include "support/apt_repo.hpp"

#include <algorithm>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

namespace imgbuild::test {
namespace {

std::string deb_name(std::string_view version) { return cat(AptRepo::package, "_", version, "_all.deb"); }

void build_deb(const fs::path& work, const fs::path& output, std::string_view version) {
  fs::path root = work / cat("root-", version);
  write(root / "DEBIAN/control", cat("Package: ", AptRepo::package, "\n",
                                     "Version: ", version, "\n",
                                     "Architecture: all\n"
                                     "Maintainer: imgbuild tests <tests@imgbuild.invalid>\n"
                                     "Description: test package for imgbuild base tests\n"));
  write(root / "usr/share" / AptRepo::package / "VERSION", cat(version, "\n"));
  run_checked({"dpkg-deb", "--root-owner-group", "--build", root.string(), output.string()});
}

}  // namespace

AptRepo::AptRepo(const fs::path& directory) : debs_dir_(directory / "debs"), repo_dir_(directory / "repo") {
  if (!find_program("apt-ftparchive"))
    fail("apt-ftparchive not found: install apt-utils (scripts/install-deps.sh does)");
  fs::create_directories(debs_dir_);
  fs::create_directories(repo_dir_);
  for (const auto& version : versions) build_deb(directory / "build", debs_dir_ / deb_name(version), version);
  remove_tree(directory / "build");
}

void AptRepo::publish(std::string_view version) {
  if (std::find(versions.begin(), versions.end(), version) == versions.end())
    fail("unknown version ", quote(version), " of ", package);

  for (const auto& entry : fs::directory_iterator(repo_dir_)) fs::remove(entry.path());
  fs::copy_file(debs_dir_ / deb_name(version), repo_dir_ / deb_name(version));

  ProcessOptions in_repo;
  in_repo.working_directory = repo_dir_;
  write(repo_dir_ / "Packages", run_checked({"apt-ftparchive", "packages", "."}, in_repo));
  // Generated before it exists in the directory, so it does not list itself.
  std::string release = run_checked({"apt-ftparchive", "release", "."}, in_repo);
  write(repo_dir_ / "Release", release);
}

std::string AptRepo::source_line() const { return cat("deb [trusted=yes] file://", repo_dir_.string(), " ./"); }

std::string AptRepo::http_source_line(int port) {
  return cat("deb [trusted=yes] http://127.0.0.1:", port, "/ ./");
}

}  // namespace imgbuild::test
