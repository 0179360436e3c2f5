// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/report/catalog.hpp"
#include "imgbuild/report/compare.hpp"
#include "imgbuild/report/snapshot.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/fixtures.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::report;
using imgbuild::test::TarMember;

namespace {

// "deb libc6 2.31-13+deb11u5 amd64 @0": one line per package for exact checks.
std::vector<std::string> describe(const std::vector<Package>& packages) {
  std::vector<std::string> lines;
  for (const Package& p : packages)
    lines.push_back(cat(ecosystem_name(p.ecosystem), " ", p.name, " ", p.version,
                        p.architecture.empty() ? "" : " " + p.architecture, " @", p.layer));
  return lines;
}

Snapshot snapshot_of(const std::string& name, const std::vector<fs::path>& blobs) {
  return snapshot_of_layers(test::image_of(name, blobs, {}), blobs);
}

const char* image_a_status =
    "Package: base-files\nStatus: install ok installed\nVersion: 11.1+deb11u6\nArchitecture: amd64\n\n"
    "Package: libc6\nStatus: install ok installed\nVersion: 2.31-13+deb11u5\nArchitecture: amd64\n\n"
    "Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0-1\nArchitecture: amd64\n";

std::vector<TarMember> image_b_members() {
  return {{"var/lib/dpkg/status.d/", "", 'd'},
          {"var/lib/dpkg/status.d/base-files",
           "Package: base-files\nVersion: 11.1+deb11u6\nArchitecture: amd64\n"},
          {"var/lib/dpkg/status.d/base-files.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/share/x\n"},
          {"var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.31-13+deb11u6\nArchitecture: amd64\n"}};
}

}  // namespace

TEST_CASE("report: dpkg status and distroless status.d", "[report]") {
  TempDir dir;
  test::write_layer(dir / "a.tar.gz", {{"var/lib/dpkg/status", image_a_status}});
  test::write_layer(dir / "b.tar.gz", image_b_members());
  test::write_layer(dir / "c.tar.gz", {{"var/lib/dpkg/status.d/.wh.libc6", ""}});

  Snapshot a = snapshot_of("a", {dir / "a.tar.gz"});
  Snapshot b = snapshot_of("b", {dir / "b.tar.gz"});
  Snapshot c = snapshot_of("c", {dir / "b.tar.gz", dir / "c.tar.gz"});

  CHECK(describe(a.packages) ==
        std::vector<std::string>{"deb base-files 11.1+deb11u6 amd64 @0", "deb libc6 2.31-13+deb11u5 amd64 @0"});
  CHECK(describe(b.packages) ==
        std::vector<std::string>{"deb base-files 11.1+deb11u6 amd64 @0", "deb libc6 2.31-13+deb11u6 amd64 @0"});
  CHECK(describe(c.packages) == std::vector<std::string>{"deb base-files 11.1+deb11u6 amd64 @0"});

  Report b_vs_a = compare(a, b);
  CHECK(b_vs_a.added.empty());
  CHECK(b_vs_a.removed.empty());
  REQUIRE(b_vs_a.changed.size() == 1);
  CHECK(b_vs_a.changed[0].after.name == "libc6");
  CHECK(b_vs_a.changed[0].before.version == "2.31-13+deb11u5");
  CHECK(b_vs_a.changed[0].after.version == "2.31-13+deb11u6");

  Report c_vs_b = compare(b, c);
  CHECK(c_vs_b.added.empty());
  CHECK(c_vs_b.changed.empty());
  CHECK(describe(c_vs_b.removed) == std::vector<std::string>{"deb libc6 2.31-13+deb11u6 amd64 @0"});
}

TEST_CASE("report: package blamed on the layer of its version", "[report]") {
  TempDir dir;
  std::string base = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n"
                     "Installed-Size: 12000\nSource: glibc\n";
  std::string upgraded = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u1\n"
                         "Architecture: amd64\nSource: glibc (2.36-9+deb12u1)\n";
  std::string curl = "\nPackage: curl\nStatus: hold ok installed\nVersion: 7.88.1-10\nArchitecture: amd64\n";
  test::write_layer(dir / "0.tar.gz", {{"var/lib/dpkg/status", base}});
  test::write_layer(dir / "1.tar.gz", {{"var/lib/dpkg/status", base + curl}});
  test::write_layer(dir / "2.tar.gz", {{"var/lib/dpkg/status", upgraded + curl}});

  Snapshot two = snapshot_of("x", {dir / "0.tar.gz", dir / "1.tar.gz"});
  CHECK(describe(two.packages) ==
        std::vector<std::string>{"deb curl 7.88.1-10 amd64 @1", "deb libc6 2.36-9 amd64 @0"});
  CHECK(two.packages[1].installed_size == 12000u * 1024u);
  CHECK(two.packages[1].source == "glibc");
  CHECK(two.packages[1].source_version == "2.36-9");

  Snapshot three = snapshot_of("x", {dir / "0.tar.gz", dir / "1.tar.gz", dir / "2.tar.gz"});
  CHECK(describe(three.packages) ==
        std::vector<std::string>{"deb curl 7.88.1-10 amd64 @1", "deb libc6 2.36-9+deb12u1 amd64 @2"});
  CHECK(three.packages[1].source_version == "2.36-9+deb12u1");
}

TEST_CASE("report: python distributions", "[report]") {
  TempDir dir;
  std::string site = "usr/local/lib/python3.11/site-packages/";
  std::string debian = "usr/lib/python3/dist-packages/";
  test::write_layer(
      dir / "0.tar.gz",
      {{"var/lib/dpkg/status",
        "Package: python3-six\nStatus: install ok installed\nVersion: 1.16.0-4\nArchitecture: all\n\n"
        "Package: python3-chardet\nStatus: install ok installed\nVersion: 5.1.0+dfsg-2\nArchitecture: all\n"},
       {"var/lib/dpkg/info/python3-six.list",
        "/usr/lib/python3/dist-packages/six.py\n/usr/lib/python3/dist-packages/six-1.16.0.dist-info\n"
        "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n"},
       {debian + "six-1.16.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"},
       {debian + "chardet-5.1.0.dist-info/METADATA", "Name: chardet\nVersion: 5.1.0\n"},
       {debian + "chardet-5.1.0.dist-info/INSTALLER", "debian\n"},
       {site + "requests_oauthlib-1.3.1.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: Requests_OAuthlib\nVersion: 1.3.1\n\nName: not-a-header\n"},
       {site + "requests_oauthlib-1.3.1.dist-info/RECORD",
        "requests_oauthlib/__init__.py,sha256=abc,1200\n\"requests_oauthlib/a,b.py\",sha256=def,34\n"
        "requests_oauthlib-1.3.1.dist-info/RECORD,,\n"},
       {site + "requests_oauthlib-1.3.1.dist-info/INSTALLER", "pip\n"},
       {site + "Foo.Bar-0.1-py3.11.egg-info/PKG-INFO", "Name: Foo.Bar\nVersion: 0.1\n"},
       {site + "legacy-2.0.egg-info", "Metadata-Version: 1.0\nName: legacy\nVersion: 2.0\n"},
       {"usr/local/lib/python3.11/dist-packages/attrs-23.1.0.dist-info/METADATA", "Name: attrs\nVersion: 23.1.0\n"},
       {"usr/local/lib/python3.11/dist-packages/attrs-23.1.0.dist-info/INSTALLER", "pip\n"},
       {"opt/src/notinstalled.egg-info/PKG-INFO", "Name: notinstalled\nVersion: 9\n"}});

  Snapshot snapshot = snapshot_of("py", {dir / "0.tar.gz"});
  CHECK(describe(snapshot.packages) == std::vector<std::string>{
                                           "deb python3-chardet 5.1.0+dfsg-2 all @0",
                                           "deb python3-six 1.16.0-4 all @0",
                                           "python attrs 23.1.0 @0",
                                           "python foo-bar 0.1 @0",
                                           "python legacy 2.0 @0",
                                           "python requests-oauthlib 1.3.1 @0",
                                       });
  CHECK(snapshot.packages.back().installed_size == 1234);
  CHECK(normalize_python_name("Zope.Interface__x") == "zope-interface-x");
}

TEST_CASE("report: whiteouts, opaque directories and overwrites", "[report]") {
  TempDir dir;
  test::write_layer(dir / "0.tar.gz", {{"app/", "", 'd'},
                                       {"app/big", std::string(1000, 'a')},
                                       {"app/dir/a", std::string(10, 'b')},
                                       {"app/link", "big", 'l'},
                                       {"etc/x", std::string(7, 'c')},
                                       {"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"}});
  test::write_layer(dir / "1.tar.gz", {{"./app/big", std::string(2000, 'd')},
                                       {"app/dir/b", std::string(5, 'e')},
                                       {"app/dir/.wh..wh..opq", ""},
                                       {"etc/.wh.x", ""},
                                       {"app/hard", "app/big", 'h'}});

  Filesystem merged = read_layers(std::vector<fs::path>{dir / "0.tar.gz", dir / "1.tar.gz"});
  std::vector<std::string> files;
  for (const auto& [path, record] : merged.files) files.push_back(cat(path, " ", record.size, " @", record.layer));
  CHECK(files == std::vector<std::string>{"/app 0 @0", "/app/big 2000 @1", "/app/dir/b 5 @1", "/app/hard 0 @1",
                                          "/app/link 0 @0", "/etc/os-release 52 @0"});

  std::vector<std::string> overwrites;
  for (const Overwrite& o : merged.overwrites)
    overwrites.push_back(cat(o.path, " ", o.wasted, " ", o.layers.front(), "->", o.layers.back()));
  CHECK(overwrites == std::vector<std::string>{"/app/big 1000 0->1", "/app/dir/a 10 0->1", "/etc/x 7 0->1"});
  CHECK(merged.os.id == "debian");
  CHECK(merged.os.version_id == "12");
  CHECK(merged.os.codename == "bookworm");
}

TEST_CASE("report: file replacing a directory hides its children", "[report]") {
  TempDir dir;
  test::write_layer(dir / "0.tar.gz", {{"opt/tool/", "", 'd'}, {"opt/tool/bin", std::string(30, 'x')}});
  test::write_layer(dir / "1.tar.gz", {{"opt/tool", "now a file"}});
  Filesystem merged = read_layers(std::vector<fs::path>{dir / "0.tar.gz", dir / "1.tar.gz"});
  CHECK(merged.files.count("/opt/tool/bin") == 0);
  REQUIRE(merged.files.count("/opt/tool") == 1);
  CHECK(merged.files.at("/opt/tool").kind == FileKind::regular);
  REQUIRE(merged.overwrites.size() == 1);
  CHECK(merged.overwrites[0].path == "/opt/tool/bin");
  CHECK(merged.overwrites[0].wasted == 30);
}

TEST_CASE("report: corrupt layer names the blob", "[report]") {
  TempDir dir;
  test::write(dir / "bad.tar.gz", std::string("\x1f\x8b\x08\x00garbage", 12));
  std::vector<fs::path> blobs{dir / "bad.tar.gz"};
  CHECK_THROWS_WITH(read_layers(blobs), Catch::Contains((dir / "bad.tar.gz").string()));
}

TEST_CASE("report: host dpkg database matches dpkg-query", "[report]") {
  if (!fs::exists("/var/lib/dpkg/status")) {
    WARN("skipped: this machine has no /var/lib/dpkg/status");
    return;
  }
  TempDir root;
  fs::create_directories(root / "var/lib/dpkg/info");
  fs::copy_file("/var/lib/dpkg/status", root / "var/lib/dpkg/status");
  test::write(root / "var/lib/dpkg/available", "");

  std::string listing = run_checked({"dpkg-query", "-W", "--admindir=" + (root / "var/lib/dpkg").string(),
                                     "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\n"});
  std::vector<std::string> expected;
  for (const std::string& line : split(listing, '\n'))
    if (starts_with(line, "installed ")) expected.push_back("deb " + line.substr(10) + " @0");
  std::sort(expected.begin(), expected.end());

  Filesystem catalogue = read_rootfs(root.path());
  std::vector<std::string> actual = describe(catalogue.packages);
  std::sort(actual.begin(), actual.end());
  CHECK(expected.size() > 50);
  CHECK(actual == expected);
}

TEST_CASE("report: catalogue resumes above a large base", "[report]") {
  TempDir dir;
  // Random bytes keep the base blob above the checkpoint size after gzip.
  std::string noise(5 << 20, '\0');
  std::uint64_t state = 88172645463325252ull;
  for (char& byte : noise) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    byte = static_cast<char>(state);
  }
  test::write_layer(dir / "base.tar.gz", {{"var/lib/dpkg/status", image_a_status}, {"opt/noise", noise}});
  auto dist = [](const std::string& version) {
    return std::vector<TarMember>{
        {"opt/venv/lib/python3.11/site-packages/backend-" + version + ".dist-info/METADATA",
         "Metadata-Version: 2.1\nName: backend\nVersion: " + version + "\n"},
        {"opt/noise", "replaced"}};
  };
  test::write_layer(dir / "v1.tar.gz", dist("1.0"));
  test::write_layer(dir / "v2.tar.gz", dist("2.0"));

  store::Store store = store::Store::open(dir / "store");
  std::vector<fs::path> first_blobs, second_blobs;
  for (const char* name : {"base.tar.gz", "v1.tar.gz"}) first_blobs.push_back(store.blob_path(store.ingest_file(dir / name)));
  for (const char* name : {"base.tar.gz", "v2.tar.gz"}) second_blobs.push_back(store.blob_path(store.ingest_file(dir / name)));
  image::Image first = test::image_of("first", first_blobs, {});
  image::Image second = test::image_of("second", second_blobs, {});

  snapshot_of_image(first, store);
  Snapshot expected = snapshot_of_layers(second, second_blobs);

  // With the base blob gone, only the checkpoint can supply its files.
  fs::remove(second_blobs[0]);
  Snapshot resumed = snapshot_of_image(second, store);

  CHECK(describe(resumed.packages) == std::vector<std::string>{"deb base-files 11.1+deb11u6 amd64 @0",
                                                               "deb libc6 2.31-13+deb11u5 amd64 @0",
                                                               "python backend 2.0 @1"});
  CHECK(describe(resumed.packages) == describe(expected.packages));
  CHECK(resumed.files.size() == expected.files.size());
  CHECK(resumed.files.at("/opt/noise").layer == 1);
  REQUIRE(resumed.overwrites.size() == 1);
  CHECK(resumed.overwrites[0].path == "/opt/noise");
  CHECK(resumed.overwrites[0].wasted == noise.size());
  CHECK(resumed.layers[0].uncompressed_size == expected.layers[0].uncompressed_size);

  // A damaged checkpoint is read around and written again.
  store.ingest_file(dir / "base.tar.gz");
  int damaged = 0;
  for (const auto& entry : fs::directory_iterator(store.root() / "catalog"))
    if (ends_with(entry.path().string(), ".state.json")) test::write(entry.path(), "{"), ++damaged;
  CHECK(damaged == 1);
  test::write_layer(dir / "v3.tar.gz", dist("3.0"));
  std::vector<fs::path> third_blobs = {second_blobs[0], store.blob_path(store.ingest_file(dir / "v3.tar.gz"))};
  Snapshot third = snapshot_of_image(test::image_of("third", third_blobs, {}), store);
  CHECK(describe(third.packages).back() == "python backend 3.0 @1");
  CHECK(third.files.size() == expected.files.size());
  for (const auto& entry : fs::directory_iterator(store.root() / "catalog"))
    if (ends_with(entry.path().string(), ".state.json"))
      CHECK(nlohmann::json::parse(read_file(entry.path())).contains("interesting"));
}

TEST_CASE("report: names that are not UTF-8", "[report]") {
  TempDir dir;
  // GNU tar writes the raw bytes; libarchive's writer would need a locale.
  test::write(dir / "tree/opt/caf\xe9", "latin-1");
  test::write(dir / "tree/opt/test-\xc3\xa4.txt", "utf-8");
  run_checked({"tar", "--format=gnu", "-czf", (dir / "names.tar.gz").string(), "-C", (dir / "tree").string(), "opt"});
  store::Store store = store::Store::open(dir / "store");
  std::vector<fs::path> blobs = {store.blob_path(store.ingest_file(dir / "names.tar.gz"))};

  Snapshot snapshot = snapshot_of_image(test::image_of("names", blobs, {}), store);
  CHECK(snapshot.files.count("/opt/caf\\xe9") == 1);
  CHECK(snapshot.files.count("/opt/test-\xc3\xa4.txt") == 1);
  // The cached catalogue reads back the same names.
  Snapshot cached = snapshot_of_image(test::image_of("names", blobs, {}), store);
  REQUIRE(cached.files.size() == snapshot.files.size());
  CHECK(cached.files.count("/opt/caf\\xe9") == 1);
}
