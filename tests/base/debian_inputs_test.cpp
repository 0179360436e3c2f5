// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "base/debian_inputs.hpp"
#include "imgbuild/base/debian.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using base::DebianBase;

TEST_CASE("base: default bookworm source lines", "[base]") {
  DebianBase debian{.suite = "bookworm"};
  CHECK(base::debian_source_lines(debian) ==
        std::vector<std::string>{"deb http://deb.debian.org/debian bookworm main",
                                 "deb http://deb.debian.org/debian bookworm-updates main",
                                 "deb http://deb.debian.org/debian-security bookworm-security main"});
}

TEST_CASE("base: snapshot source lines", "[base]") {
  DebianBase debian{.suite = "bookworm", .snapshot = "20241201T000000Z"};
  CHECK(base::debian_source_lines(debian) ==
        std::vector<std::string>{
            "deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/20241201T000000Z bookworm main",
            "deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/20241201T000000Z bookworm-updates main",
            "deb [check-valid-until=no] http://snapshot.debian.org/archive/debian-security/20241201T000000Z "
            "bookworm-security main"});
}

TEST_CASE("base: mirror and extra source lines", "[base]") {
  DebianBase debian{.suite = "bookworm",
                    .mirror = "http://mirror.example/debian/",
                    .sources = {"deb [trusted=yes] file:///srv/repo ./"}};
  CHECK(base::debian_source_lines(debian) ==
        std::vector<std::string>{"deb http://mirror.example/debian bookworm main",
                                 "deb http://mirror.example/debian bookworm-updates main",
                                 "deb http://mirror.example/debian-security bookworm-security main",
                                 "deb [trusted=yes] file:///srv/repo ./"});

  DebianBase other_mirror{.suite = "bookworm", .mirror = "http://mirror.example/pub"};
  CHECK(base::debian_source_lines(other_mirror) ==
        std::vector<std::string>{"deb http://mirror.example/pub bookworm main",
                                 "deb http://mirror.example/pub bookworm-updates main"});
}

TEST_CASE("base: rolling suite has one line", "[base]") {
  DebianBase debian{.suite = "sid"};
  CHECK(base::debian_source_lines(debian) == std::vector<std::string>{"deb http://deb.debian.org/debian sid main"});
}

TEST_CASE("base: mmdebstrap arguments", "[base]") {
  DebianBase debian{.suite = "bookworm", .packages = {"python3", "ca-certificates", "python3"}};
  CHECK(base::mmdebstrap_arguments(debian, "mmdebstrap", "arm64", "/store/tmp/rootfs") ==
        std::vector<std::string>{"mmdebstrap", "--variant=minbase", "--architectures=arm64", "--format=directory",
                                 "--include=ca-certificates,python3", "bookworm", "/store/tmp/rootfs",
                                 "deb http://deb.debian.org/debian bookworm main",
                                 "deb http://deb.debian.org/debian bookworm-updates main",
                                 "deb http://deb.debian.org/debian-security bookworm-security main"});

  debian.packages.clear();
  debian.sources = {"deb [trusted=yes arch=all] file:///srv/my%20repo/ ./"};
  auto argv = base::mmdebstrap_arguments(debian, "/usr/bin/mmdebstrap", "amd64", "/out");
  CHECK(argv[4] == "--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount");
  CHECK(argv.back() == "deb [trusted=yes arch=all] file:///srv/my%20repo/ ./");
  CHECK(base::file_source_paths(debian) == std::vector<std::string>{"/srv/my%20repo"});
}

TEST_CASE("base: cache key components", "[base]") {
  DebianBase debian{.suite = "bookworm", .packages = {"python3", "git", "python3"}};
  nlohmann::json components = base::debian_key_components(debian, "amd64");
  CHECK(components.dump() ==
        R"({"architecture":"amd64","format":1,"kind":"debian-base","mirror":"http://deb.debian.org/debian",)"
        R"("packages":["git","python3"],"snapshot":"","sources":[],"suite":"bookworm","variant":"minbase"})");
  CHECK(base::debian_cache_key(debian, "amd64") == sha256_of(components.dump()).hex);
}

TEST_CASE("base: cache key follows every input", "[base]") {
  DebianBase debian{.suite = "bookworm", .packages = {"python3", "git"}};
  std::string key = base::debian_cache_key(debian, "amd64");

  DebianBase reordered{.suite = "bookworm", .packages = {"git", "python3", "git"}};
  CHECK(base::debian_cache_key(reordered, "amd64") == key);
  CHECK(base::debian_cache_key(debian, "arm64") != key);

  std::vector<DebianBase> changed(6, debian);
  changed[0].suite = "trixie";
  changed[1].variant = "apt";
  changed[2].packages.push_back("curl");
  changed[3].snapshot = "20241201T000000Z";
  changed[4].mirror = "http://mirror.example/debian";
  changed[5].sources = {"deb [trusted=yes] file:///srv/repo ./"};
  for (std::size_t i = 0; i < changed.size(); ++i) {
    INFO("changed input " << i);
    CHECK(base::debian_cache_key(changed[i], "amd64") != key);
  }
}

TEST_CASE("base: invalid debian inputs", "[base]") {
  auto message_of = [](const DebianBase& debian) {
    try {
      base::check_debian_base(debian);
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::usage);
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message_of({.suite = ""}) == "invalid debian suite '': use a codename such as 'bookworm'");
  CHECK(message_of({.suite = "bookworm", .variant = "tiny"}) ==
        "unknown debian variant 'tiny': use one of mmdebstrap's variants, for example 'minbase'");
  CHECK(message_of({.suite = "bookworm", .packages = {"python3,git"}}) ==
        "invalid debian package name 'python3,git': use one package per list entry, as NAME, NAME=VERSION or NAME:ARCH");
  CHECK(message_of({.suite = "bookworm", .architecture = "x86-64"}) == "invalid debian architecture 'x86-64'");
  CHECK(message_of({.suite = "bookworm", .snapshot = "2024-12-01"}) ==
        "invalid debian snapshot '2024-12-01': use the snapshot.debian.org form YYYYMMDDTHHMMSSZ, "
        "for example 20241201T000000Z");
  CHECK(message_of({.suite = "bookworm", .mirror = "deb.debian.org"}) ==
        "invalid debian mirror 'deb.debian.org': use a URL such as http://deb.debian.org/debian");
  CHECK(message_of({.suite = "bookworm", .sources = {"http://example/ ./"}}) ==
        "invalid debian source 'http://example/ ./': use a one-line sources.list entry starting with 'deb '");
  CHECK(message_of({.suite = "bookworm", .packages = {"python3=3.11.2-1+b1", "libc6:amd64"}}) == "no error");
}

TEST_CASE("base: debian architecture names", "[base]") {
  CHECK(base::debian_architecture({"linux", "amd64", ""}) == "amd64");
  CHECK(base::debian_architecture({"linux", "arm64", "v8"}) == "arm64");
  CHECK(base::debian_architecture({"linux", "arm", "v7"}) == "armhf");
  CHECK(base::debian_architecture({"linux", "arm", "v6"}) == "armel");
  CHECK(base::debian_architecture({"linux", "386", ""}) == "i386");
  CHECK(base::debian_architecture({"linux", "ppc64le", ""}) == "ppc64el");
  CHECK_THROWS_WITH(base::debian_architecture({"linux", "sparc", ""}),
                    Catch::StartsWith("no debian architecture for platform 'sparc'"));
  CHECK_THROWS_WITH(base::debian_architecture({"windows", "amd64", ""}),
                    "debian bases need a linux platform, not 'windows'");

  image::Platform arm64 = base::oci_platform("arm64");
  CHECK(arm64.os == "linux");
  CHECK(arm64.architecture == "arm64");
  CHECK(arm64.variant == "v8");
  CHECK(base::oci_platform("armhf").variant == "v7");
  CHECK(base::oci_platform("i386").architecture == "386");
  CHECK_THROWS_WITH(base::oci_platform("x86"), Catch::StartsWith("unknown debian architecture 'x86'"));
  CHECK_FALSE(base::host_debian_architecture().empty());
}

TEST_CASE("base: describe debian base", "[base]") {
  CHECK(base::describe(DebianBase{.suite = "bookworm"}) == "debian bookworm minbase");
  CHECK(base::describe(DebianBase{.suite = "bookworm", .packages = {"python3", "git"}}) ==
        "debian bookworm minbase: git python3");
  CHECK(base::describe(DebianBase{.suite = "bookworm", .variant = "apt", .snapshot = "20241201T000000Z"}) ==
        "debian bookworm@20241201T000000Z apt");
}
