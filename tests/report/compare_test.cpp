// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/report/compare.hpp"
#include "imgbuild/report/diff.hpp"
#include "imgbuild/report/records.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/fixtures.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::report;

namespace {

Digest digest_of(char c) { return Digest{std::string(64, c)}; }

Snapshot sample() {
  Snapshot snapshot;
  snapshot.name = "registry.local:5000/app:1";
  snapshot.target = "runtime";
  snapshot.manifest_digest = digest_of('a');
  snapshot.config_digest = digest_of('c');
  snapshot.bases = {{"debian:bookworm", digest_of('b')}};
  snapshot.layers = {{digest_of('1'), digest_of('2'), 30'000'000, 80'000'000, "base debian:bookworm"},
                     {digest_of('3'), digest_of('4'), 2'000'000, 5'000'000, "runtime: RUN apt-get install curl"}};
  snapshot.packages = {test::deb_package("curl", "7.88.1-10", "amd64", 1), test::deb_package("libc6", "2.36-9")};
  snapshot.os = {"debian", "12", "bookworm"};
  snapshot.user = "app";
  snapshot.started = 1714564800;
  snapshot.finished = 1714564860;
  snapshot.extra_blobs = {digest_of('e')};
  return snapshot;
}

}  // namespace

TEST_CASE("report: identical snapshots have no change", "[report]") {
  Report report = compare(sample(), sample());
  CHECK_FALSE(report.has_changes());
  CHECK(report.compressed_delta == 0);
  CHECK(report.uncompressed_delta == 0);
  CHECK(report.compressed_size == 32'000'000);
  CHECK(report.uncompressed_size == 85'000'000);
  CHECK(report.added.empty());
  CHECK(report.removed.empty());
  CHECK(report.changed.empty());
  CHECK(report.bases_moved.empty());
  CHECK(report.layers.size() == 2);
  CHECK(report.layers[1].reused);
}

TEST_CASE("report: changed package version and moved base", "[report]") {
  Snapshot next = sample();
  next.packages[1].version = "2.36-9+deb12u1";
  next.bases[0].digest = digest_of('d');
  next.layers[0] = {digest_of('5'), digest_of('6'), 30'100'000, 80'200'000, "base debian:bookworm"};

  Report report = compare(sample(), next);
  CHECK(report.has_changes());
  CHECK(report.added.empty());
  CHECK(report.removed.empty());
  REQUIRE(report.changed.size() == 1);
  CHECK(report.changed[0].after.name == "libc6");
  CHECK(report.changed[0].before.version == "2.36-9");
  CHECK(report.changed[0].after.version == "2.36-9+deb12u1");
  REQUIRE(report.bases_moved.size() == 1);
  CHECK(report.bases_moved[0].before == digest_of('b'));
  CHECK(report.bases_moved[0].after == digest_of('d'));
  CHECK(report.compressed_delta == 100'000);
  CHECK(report.uncompressed_delta == 200'000);

  std::string text = render_text(report);
  CHECK(text ==
        "image     registry.local:5000/app:1 sha256:aaaaaaaaaaaa (target runtime)\n"
        "size      32 MB (+100 kB) compressed, 85 MB (+200 kB) uncompressed, 2 layers (1 reused)\n"
        "layers    0  30 MB / 80 MB       base debian:bookworm\n"
        "          1  2.0 MB / 5.0 MB     runtime: RUN apt-get install curl (reused)\n"
        "packages  0 added, 0 removed, 1 changed\n"
        "            ~ libc6:amd64 2.36-9 -> 2.36-9+deb12u1\n"
        "base      debian:bookworm moved sha256:bbbbbbbbbbbb -> sha256:dddddddddddd\n");

  nlohmann::json json = report_to_json(report);
  CHECK(json["size"]["compressed_delta"] == 100'000);
  CHECK(json["packages"]["changed"][0] ==
        nlohmann::json{{"ecosystem", "deb"}, {"name", "libc6"}, {"architecture", "amd64"},
                       {"before", "2.36-9"}, {"after", "2.36-9+deb12u1"}, {"layer", 0}});
  CHECK(json["bases_moved"][0]["after"] == digest_of('d').str());
}

TEST_CASE("report: first build has nothing to compare", "[report]") {
  Report report = compare(std::nullopt, sample());
  CHECK_FALSE(report.has_changes());
  CHECK(report.added.empty());
  CHECK_FALSE(report.layers[0].reused);
  CHECK(report_to_json(report)["previous"].is_null());
  CHECK(render_text(report).find("packages  2 installed (first build, nothing to compare)\n") != std::string::npos);
}

TEST_CASE("report: record round trip", "[report]") {
  Snapshot original = sample();
  original.findings.push_back({"forbidden-package", "gcc:amd64", 1, "step", "message", "build"});
  original.allowed_secrets.push_back({"/app/test.pem", "tests/*.pem"});
  original.vulnerabilities = VulnerabilityCounts{"bookworm", {{"high", 2}}, {{"glibc", 2}}, 2};
  original.healthcheck = std::vector<std::string>{"CMD", "true"};

  nlohmann::json json = to_json(original);
  CHECK(json["blobs"] == nlohmann::json{digest_of('1').str(), digest_of('3').str(), digest_of('a').str(),
                                        digest_of('c').str(), digest_of('e').str()});
  CHECK(json["started"] == "2024-05-01T12:00:00Z");

  Snapshot copy = snapshot_from_json(json);
  CHECK(to_json(copy) == json);
  CHECK(copy.extra_blobs == std::vector<Digest>{digest_of('e')});

  json["schema"] = "imgbuild-record/9";
  CHECK_THROWS_WITH(snapshot_from_json(json), Catch::Contains("unsupported record schema 'imgbuild-record/9'"));
  json.erase("schema");
  CHECK_THROWS_WITH(snapshot_from_json(json), "invalid build record: missing field 'schema'");
}

TEST_CASE("report: previous build is the last successful record", "[report]") {
  TempDir records;
  Snapshot first = sample();
  Snapshot failed = sample();
  failed.success = false;
  failed.packages.clear();
  Snapshot other_target = sample();
  other_target.target = "debug";

  fs::path one = write_record(records.path(), first);
  fs::path two = write_record(records.path(), failed);
  write_record(records.path(), other_target);
  CHECK(one == records / "registry.local%3A5000%2Fapp%3A1" / "runtime" / "000001.json");
  CHECK(two.filename() == "000002.json");

  std::optional<Snapshot> previous = find_previous_build(records.path(), first.name, "runtime");
  REQUIRE(previous);
  CHECK(previous->packages.size() == 2);
  CHECK_FALSE(find_previous_build(records.path(), "other", "runtime"));

  // A --report file can serve as the baseline too.
  test::write(records / "report.json", report_to_json(compare(std::nullopt, first)).dump());
  CHECK(is_json_file(records / "report.json"));
  CHECK_FALSE(is_json_file(records / "missing.json"));
  CHECK(to_json(load_snapshot_file(records / "report.json")) == to_json(first));
  CHECK(to_json(load_snapshot_file(one)) == to_json(first));
  test::write(records / "broken.json", "{");
  CHECK_THROWS_WITH(load_snapshot_file(records / "broken.json"),
                    Catch::StartsWith("reading '" + (records / "broken.json").string() + "': invalid JSON"));
}

TEST_CASE("report: diff lists largest added files and wasted bytes", "[report]") {
  TempDir dir;
  test::write_layer(dir / "0.tar.gz", {{"usr/lib/libbase.so", std::string(5000, 'a')}, {"etc/conf", "one"}});
  test::write_layer(dir / "1.tar.gz", {{"app/data.bin", std::string(9000, 'b')},
                                       {"app/small", "s"},
                                       {"etc/conf", "three"},
                                       {"usr/lib/.wh.libbase.so", ""}});
  std::vector<fs::path> a_blobs{dir / "0.tar.gz"};
  std::vector<fs::path> b_blobs{dir / "0.tar.gz", dir / "1.tar.gz"};
  Snapshot a = snapshot_of_layers(test::image_of("a", a_blobs, {"base"}), a_blobs);
  Snapshot b = snapshot_of_layers(test::image_of("b", b_blobs, {"base", "app: COPY . /app"}), b_blobs);

  DiffReport diff = diff_snapshots(a, b);
  std::vector<std::string> added;
  for (const AddedFile& f : diff.largest_added) added.push_back(cat(f.path, " ", f.size, f.modified ? " modified" : ""));
  CHECK(added == std::vector<std::string>{"/app/data.bin 9000", "/etc/conf 5 modified", "/app/small 1"});
  CHECK(diff.wasted_bytes == 5003);
  REQUIRE(diff.duplicated.size() == 2);
  CHECK(diff.duplicated[0].path == "/usr/lib/libbase.so");
  CHECK(diff.duplicated[0].layers == std::vector<int>{0, 1});

  std::string text = render_diff_text(diff);
  CHECK(text.find("largest   9.0 kB   /app/data.bin (layer 1)\n") != std::string::npos);
  CHECK(text.find("wasted    5.0 kB in 2 paths written by more than one layer\n") != std::string::npos);
  nlohmann::json json = diff_to_json(diff);
  CHECK(json["wasted_bytes"] == 5003);
  CHECK(json["largest_added"][0]["step"] == "app: COPY . /app");
}

TEST_CASE("report: sparse 2 GiB file counts uncompressed bytes", "[report][slow]") {
  TempDir dir;
  const std::uint64_t two_gib = 2ull << 30;
  test::write_zero_file_layer(dir / "big.tar.gz", "data/sparse.img", two_gib);
  std::vector<fs::path> blobs{dir / "big.tar.gz"};
  Snapshot snapshot = snapshot_of_layers(test::image_of("big", blobs, {"data: RUN truncate -s 2G"}), blobs);

  CHECK(snapshot.uncompressed_size() >= two_gib);
  CHECK(snapshot.compressed_size() < (10ull << 20));
  CHECK(snapshot.files.at("/data/sparse.img").size == two_gib);
  std::string text = render_text(compare(std::nullopt, snapshot));
  CHECK(text.find(cat(human_bytes(snapshot.compressed_size()), " compressed, ",
                      human_bytes(snapshot.uncompressed_size()), " uncompressed")) != std::string::npos);
}
