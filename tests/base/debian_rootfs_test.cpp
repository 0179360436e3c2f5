// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "base/debian_inputs.hpp"
#include "imgbuild/base/debian.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using base::Package;
using base::PackageChange;

namespace {

constexpr const char* status_text =
    "Package: zlib1g\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Version: 1:1.2.13.dfsg-1\n"
    "Description: compression library - runtime\n"
    " zlib is a library implementing the deflate compression method found\n"
    " Version: 9 in a continuation line is not a field.\n"
    "\n"
    "Package: old-conf\n"
    "Status: deinstall ok config-files\n"
    "Architecture: all\n"
    "Version: 1.0\n"
    "\n"
    "Package: base-files\n"
    "Essential: yes\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 12.4+deb12u8\n"
    "\n"
    "Package: held\n"
    "Status: hold ok installed\n"
    "Architecture: all\n"
    "Version: 2\n";

}  // namespace

TEST_CASE("base: parse dpkg status", "[base]") {
  CHECK(base::parse_dpkg_status(status_text) ==
        std::vector<Package>{{"base-files", "12.4+deb12u8", "amd64"},
                             {"held", "2", "all"},
                             {"zlib1g", "1:1.2.13.dfsg-1", "amd64"}});
  CHECK(base::parse_dpkg_status("").empty());
}

TEST_CASE("base: diff package lists", "[base]") {
  std::vector<Package> before{{"bash", "5.2.15-2+b2", "amd64"},
                              {"gone", "1", "all"},
                              {"imgbuild-hello", "1.0-1", "all"},
                              {"moved", "1", "all"},
                              {"libc6", "2.36-9", "amd64"},
                              {"libc6", "2.36-9", "i386"}};
  std::vector<Package> after{{"bash", "5.2.15-2+b2", "amd64"},
                             {"imgbuild-hello", "1.1-1", "all"},
                             {"moved", "2", "amd64"},
                             {"libc6", "2.36-9", "amd64"},
                             {"libc6", "2.36-9+deb12u1", "i386"},
                             {"new", "3", "all"}};
  CHECK(base::diff_packages(before, after) == std::vector<PackageChange>{{"gone", "1", ""},
                                                                          {"imgbuild-hello", "1.0-1", "1.1-1"},
                                                                          {"libc6", "2.36-9", "2.36-9+deb12u1"},
                                                                          {"moved", "1", "2"},
                                                                          {"new", "", "3"}});
  CHECK(base::diff_packages(after, after).empty());
}

TEST_CASE("base: finish rootfs", "[base]") {
  TempDir temp("base-rootfs-");
  fs::path root = temp / "rootfs";
  test::write(root / "etc/hostname", "buildhost\n");
  test::write(root / "etc/resolv.conf", "nameserver 10.0.0.1\n");
  test::write(root / "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  test::write(root / "dev/null", "");
  fs::create_directories(root / "dev/pts");
  test::write(root / "var/cache/debconf/config.dat", "kept\n");
  test::write(root / "var/cache/debconf/config.dat-old", "old\n");
  test::write(root / "var/lib/dpkg/status", status_text);
  test::write(root / "var/lib/dpkg/status-old", status_text);
  test::write(root / "var/cache/apt/pkgcache.bin", "cache");
  test::write(root / "var/cache/apt/archives/bash_5.2_amd64.deb", "deb");
  test::write(root / "var/cache/apt/archives/lock", "");
  test::write(root / "var/cache/apt/archives/partial/x.deb", "deb");
  test::write(root / "var/lib/apt/lists/lock", "");
  test::write(root / "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "index");
  fs::create_directories(root / "var/lib/apt/lists/partial");
  test::write(root / "var/log/apt/history.log", "Start-Date: 2024-12-04  21:25:01\n");
  // A package owns /srv, so the empty /srv stays, but the mount point below it goes.
  test::write(root / "var/lib/dpkg/info/base-files.list", "/.\n/srv\n/tmp\n");
  fs::create_directories(root / "srv/repos/local");
  fs::create_directories(root / "tmp");

  base::DebianBase debian{.suite = "bookworm", .sources = {"deb [trusted=yes] file:///srv/repos/local ./"}};
  base::finish_rootfs(root, debian);

  CHECK(test::list_tree(root) == std::vector<std::string>{
                                    "d 0755 0:0 dev/",
                                    "d 0755 0:0 etc/",
                                    "d 0755 0:0 etc/apt/",
                                    "d 0755 0:0 etc/apt/apt.conf.d/",
                                    "d 0755 0:0 srv/",
                                    "d 0755 0:0 tmp/",
                                    "d 0755 0:0 var/",
                                    "d 0755 0:0 var/cache/",
                                    "d 0755 0:0 var/cache/apt/",
                                    "d 0755 0:0 var/cache/apt/archives/",
                                    "d 0755 0:0 var/cache/apt/archives/partial/",
                                    "d 0755 0:0 var/cache/debconf/",
                                    "d 0755 0:0 var/lib/",
                                    "d 0755 0:0 var/lib/apt/",
                                    "d 0755 0:0 var/lib/apt/lists/",
                                    "d 0755 0:0 var/lib/apt/lists/partial/",
                                    "d 0755 0:0 var/lib/dpkg/",
                                    "d 0755 0:0 var/lib/dpkg/info/",
                                    "d 0755 0:0 var/log/",
                                    "d 0755 0:0 var/log/apt/",
                                    "f 0644 0:0 0 etc/machine-id",
                                    "f 0644 0:0 0 var/cache/apt/archives/lock",
                                    "f 0644 0:0 0 var/lib/apt/lists/lock",
                                    "f 0644 0:0 0 var/log/apt/history.log",
                                    "f 0644 0:0 115 etc/apt/apt.conf.d/docker-autoremove-suggests",
                                    "f 0644 0:0 13 var/lib/dpkg/info/base-files.list",
                                    "f 0644 0:0 135 etc/apt/apt.conf.d/imgbuild-no-recommends",
                                    "f 0644 0:0 137 etc/apt/apt.conf.d/docker-gzip-indexes",
                                    "f 0644 0:0 142 etc/apt/apt.conf.d/docker-no-languages",
                                    "f 0644 0:0 5 var/cache/debconf/config.dat",
                                    "f 0644 0:0 536 etc/apt/apt.conf.d/docker-clean",
                                    "f 0644 0:0 550 var/lib/dpkg/status",
                                });
  CHECK(read_file(root / "etc/apt/apt.conf.d/docker-clean").find(
            "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb "
            "/var/cache/apt/*.bin || true\"; };\n") != std::string::npos);
  CHECK(read_file(root / "etc/apt/apt.conf.d/docker-clean").find("Dir::Cache::pkgcache \"\";\n") != std::string::npos);
}

// mmdebstrap leaves dev/stdin -> /proc/self/fd/0; a rootfs can also have
// links to host paths. finish_rootfs must change nothing outside the root.
TEST_CASE("base: finish rootfs never follows links out", "[base]") {
  TempDir temp("base-links-");
  fs::path root = temp / "rootfs", outside = temp / "outside";
  test::write(outside / "stdin-target", "in", 0644);
  test::write(outside / "machine-id", "host id\n", 0444);
  test::write(outside / "log/syslog", "host log\n", 0640);
  test::write(root / "var/lib/dpkg/status", status_text);
  fs::create_directories(root / "dev");
  fs::create_symlink(outside / "stdin-target", root / "dev/stdin");
  fs::create_directories(root / "etc");
  fs::create_symlink(outside / "machine-id", root / "etc/machine-id");
  fs::create_symlink(outside / "log", root / "var/log");

  base::finish_rootfs(root, base::DebianBase{.suite = "bookworm"});

  CHECK_FALSE(fs::exists(fs::symlink_status(root / "dev/stdin")));
  CHECK(test::list_tree(outside) == std::vector<std::string>{"d 0755 0:0 log/", "f 0444 0:0 8 machine-id",
                                                             "f 0640 0:0 9 log/syslog", "f 0644 0:0 2 stdin-target"});

  // A linked etc/apt would take imgbuild's apt settings to the host.
  fs::create_directories(outside / "apt");
  fs::remove_all(root / "etc/apt");
  fs::create_symlink(outside / "apt", root / "etc/apt");
  CHECK_THROWS_WITH(base::finish_rootfs(root, base::DebianBase{.suite = "bookworm"}),
                    Catch::Contains("'etc/apt' is not a directory"));
  CHECK(fs::is_empty(outside / "apt"));
}
