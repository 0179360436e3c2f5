// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/report/compare.hpp"
#include "imgbuild/report/vulnerabilities.hpp"
#include "imgbuild/util/fs.hpp"
#include "report/fixtures.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::report;

namespace {

Package deb(const std::string& name, const std::string& version, const std::string& source,
            const std::string& source_version) {
  Package package = test::deb_package(name, version);
  package.source = source;
  package.source_version = source_version;
  return package;
}

// Two binaries of glibc, one of openssl, zlib with an epoch only in the
// binary version. curl is not installed, so its issue never counts.
std::vector<Package> installed() {
  return {deb("libc-bin", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4"),
          deb("libc6", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4"),
          deb("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
          deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1.2.13.dfsg-1")};
}

fs::path data(const char* name) { return test::source_dir() / "tests/data/report" / name; }

}  // namespace

TEST_CASE("report: debian version order", "[report]") {
  CHECK(compare_debian_versions("2.36-9+deb12u4", "2.36-9+deb12u5") < 0);
  CHECK(compare_debian_versions("2.36-9+deb12u10", "2.36-9+deb12u9") > 0);
  CHECK(compare_debian_versions("3.0.11-1~deb12u2", "3.0.11-1") < 0);
  CHECK(compare_debian_versions("1:1.0", "2.0") > 0);
  CHECK(compare_debian_versions("1.0~rc1", "1.0") < 0);
  CHECK(compare_debian_versions("1.0a", "1.0+") < 0);
  CHECK(compare_debian_versions("1.2.13.dfsg-1", "1.2.13.dfsg-1") == 0);
  CHECK(compare_debian_versions("1.0", "1.0-0") == 0);
}

TEST_CASE("report: vulnerability counts and their change", "[report]") {
  SecurityTracker before = SecurityTracker::load(data("tracker-before.json"));
  SecurityTracker after = SecurityTracker::load(data("tracker-after.json"));

  VulnerabilityCounts old_counts = before.count(installed(), "bookworm");
  CHECK(old_counts.release == "bookworm");
  CHECK(old_counts.total == 4);
  CHECK(old_counts.by_urgency == std::map<std::string, std::uint64_t>{{"high", 1}, {"low", 2}, {"medium", 1}});
  CHECK(old_counts.by_package == std::map<std::string, std::uint64_t>{{"glibc", 2}, {"openssl", 1}, {"zlib", 1}});

  VulnerabilityCounts new_counts = after.count(installed(), "bookworm");
  CHECK(new_counts.total == 5);
  CHECK(new_counts.by_urgency ==
        std::map<std::string, std::uint64_t>{{"high", 2}, {"low", 2}, {"unimportant", 1}});

  CHECK(urgency_delta(old_counts, new_counts) ==
        std::map<std::string, std::int64_t>{{"high", 1}, {"low", 0}, {"medium", -1}, {"unimportant", 1}});

  Snapshot previous;
  previous.vulnerabilities = old_counts;
  Snapshot current;
  current.vulnerabilities = new_counts;
  Report report = compare(previous, current);
  CHECK(report.vulnerability_delta.at("medium") == -1);
  CHECK(render_text(report).find("vulns     5 open in bookworm: high 2 (+1), low 2, unimportant 1 (+1), medium 0 (-1)\n") !=
        std::string::npos);
  CHECK(report_to_json(report)["vulnerabilities"]["delta"]["high"] == 1);

  CHECK(before.count(installed(), "trixie").total == 0);
}

TEST_CASE("report: invalid tracker file", "[report]") {
  TempDir dir;
  test::write(dir / "tracker.json", "[1, 2]");
  CHECK_THROWS_WITH(SecurityTracker::load(dir / "tracker.json"),
                    "security tracker file '" + (dir / "tracker.json").string() +
                        "': expected an object of source packages at the top level");
}
