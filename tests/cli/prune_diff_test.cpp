// SPDX-License-Identifier: Apache-2.0
// `imgbuild prune` and `imgbuild diff` on stores and images made by real
// builds of a small recipe: a busybox rootfs and a data directory copied
// from the build context into a scratch stage. They need no network.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "imgbuild/report/records.hpp"
#include "imgbuild/util/fs.hpp"
#include "support/toolkit.hpp"

namespace test = imgbuild::test;
namespace fs = std::filesystem;
using imgbuild::ProcessResult;

namespace {

// The "builder" stage is not part of the image, so only cache entries
// reference its layer and config.
const char* recipe_text = R"(
[image]
name = "localhost/prune-diff"

[context]
dir = "context"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "builder"
base = "scratch"

[[stage.step]]
copy = "notes"
to = "/notes/"

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
copy = "rootfs"
to = "/"

[[stage.step]]
copy = "/notes/readme"
from = "builder"
to = "/notes/"

[[stage.step]]
copy = "data"
to = "/data/"
)";

constexpr std::size_t big_file_size = 300000;

// A recipe with its build context and its own store.
struct Project {
  imgbuild::TempDir dir{"prune-diff-"};
  fs::path recipe = dir / "recipe.toml";
  fs::path store = dir / "store";

  Project() {
    test::make_busybox_rootfs(dir / "context/rootfs");
    test::write(dir / "context/notes/readme", "built by the builder stage\n");
    // Left behind in the builder stage, so its layer differs from the app
    // layer that copies only the readme, and only cache entries reference it.
    test::write(dir / "context/notes/draft", "not copied into the image\n");
    test::write(dir / "context/data/small.txt", "small\n");
    test::write(recipe, recipe_text);
  }

  // Adds a file of `big_file_size` bytes that compresses poorly, so the
  // compressed size grows too.
  void add_big_file() {
    std::string bytes(big_file_size, '\0');
    std::uint32_t state = 12345;
    for (char& byte : bytes) {
      state = state * 1103515245u + 12345u;
      byte = static_cast<char>(state >> 24);
    }
    test::write(dir / "context/data/big.bin", bytes);
  }

  ProcessResult build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", recipe.string(), "--store", store.string(), "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  ProcessResult run(const std::vector<std::string>& args) {
    imgbuild::ProcessOptions options;
    fs::create_directories(dir / "tmp");
    options.extra_env = {"TMPDIR=" + (dir / "tmp").string()};
    return test::run_imgbuild(args, options);
  }

  std::set<std::string> blobs() const {
    std::set<std::string> names;
    for (const auto& item : fs::directory_iterator(store / "blobs/sha256")) names.insert("sha256:" + item.path().filename().string());
    return names;
  }

  // Every digest the build records pin, from their "blobs" arrays.
  std::set<std::string> pinned() const {
    std::set<std::string> digests;
    for (const auto& item : fs::recursive_directory_iterator(store / "records")) {
      if (!item.is_regular_file()) continue;
      nlohmann::json record = nlohmann::json::parse(imgbuild::read_file(item.path()));
      for (const auto& digest : record.at("blobs")) digests.insert(digest.get<std::string>());
    }
    return digests;
  }

  std::size_t cache_entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(store / "cache"), fs::directory_iterator()));
  }
};

std::string output_of(const ProcessResult& result) { return result.out + result.err; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: prune keeps blobs records pin", "[cli]") {
  Project project;
  ProcessResult built = project.build();
  INFO(output_of(built));
  REQUIRE(built.exit_code == 0);

  std::set<std::string> before = project.blobs();
  std::set<std::string> pinned = project.pinned();
  std::size_t cache_entries = project.cache_entries();
  std::vector<std::string> unpinned;
  std::set_difference(before.begin(), before.end(), pinned.begin(), pinned.end(), std::back_inserter(unpinned));
  REQUIRE(cache_entries > 0);
  REQUIRE_FALSE(unpinned.empty());  // the builder stage's layer and config

  ProcessResult pruned = project.run({"prune", "--store", project.store.string()});
  INFO(output_of(pruned));
  REQUIRE(pruned.exit_code == 0);
  CHECK(contains(pruned.out, "removed " + std::to_string(cache_entries) + " cache entries, "));
  CHECK(contains(pruned.out, " blobs and "));
  CHECK(contains(pruned.out, "freed "));
  // The summary goes to stdout only, once.
  CHECK_FALSE(contains(pruned.err, "removed "));
  CHECK(pruned.out.find("removed ") == pruned.out.rfind("removed "));
  CHECK(project.cache_entries() == 0);

  std::set<std::string> after = project.blobs();
  for (const std::string& digest : unpinned) {
    INFO("unpinned blob " << digest);
    CHECK(after.count(digest) == 0);
  }
  for (const std::string& digest : before) {
    if (pinned.count(digest) == 0) continue;
    INFO("pinned blob " << digest);
    CHECK(after.count(digest) == 1);
  }
  CHECK(contains(pruned.out, " " + std::to_string(before.size() - after.size()) + " blobs and "));

  // The image kept in the store still loads after the prune.
  ProcessResult diff = project.run({"diff", "previous", "previous", "--store", project.store.string()});
  INFO(output_of(diff));
  CHECK(diff.exit_code == 0);
  CHECK_FALSE(contains(diff.out, "not compared"));
}

TEST_CASE("cli: prune rejects invalid budgets", "[cli]") {
  imgbuild::TempDir store{"prune-store-"};
  ProcessResult size = test::run_imgbuild({"prune", "--store", store.path().string(), "--keep-storage", "lots"});
  CHECK(size.exit_code == 2);
  CHECK(size.out.empty());
  CHECK(size.err ==
        "imgbuild: error: --keep-storage: invalid size 'lots': expected bytes with an optional unit, such as '800MB' "
        "or '2GiB'\n");

  ProcessResult age = test::run_imgbuild({"prune", "--store", store.path().string(), "--max-age", "7 days"});
  CHECK(age.exit_code == 2);
  CHECK(age.err ==
        "imgbuild: error: --max-age: invalid duration '7 days': expected a number with a unit s, m, h, d or w, such "
        "as '36h' or '1h30m'\n");

  ProcessResult wait = test::run_imgbuild({"prune", "--store", store.path().string(), "--wait", "-1"});
  CHECK(wait.exit_code == 2);
  CHECK(wait.err ==
        "imgbuild: error: --wait: invalid value '-1': expected an integer from 0 to 4294967295; run 'imgbuild --help' "
        "for usage\n");

  fs::path missing = store / "missing";
  ProcessResult absent = test::run_imgbuild({"prune", "--store", missing.string()});
  CHECK(absent.exit_code == 2);
  CHECK(absent.err == "imgbuild: error: store directory '" + missing.string() + "' not found; pass the --store a build used\n");
  CHECK_FALSE(fs::exists(missing));
}

TEST_CASE("cli: prune help names units", "[cli]") {
  ProcessResult help = test::run_imgbuild({"prune", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--keep-storage"));
  CHECK(contains(help.out, "KiB, MiB, GiB"));
  CHECK(contains(help.out, "a unit s, m, h, d or w"));
  CHECK(contains(help.out, "seconds to wait"));
}

TEST_CASE("cli: diff two layouts lists added file", "[cli]") {
  Project project;
  fs::path layout_a = project.dir / "layout-a";
  fs::path layout_b = project.dir / "layout-b";
  ProcessResult built_a = project.build({"--output", "oci:" + layout_a.string()});
  INFO(output_of(built_a));
  REQUIRE(built_a.exit_code == 0);
  project.add_big_file();
  ProcessResult built_b = project.build({"--output", "oci:" + layout_b.string()});
  INFO(output_of(built_b));
  REQUIRE(built_b.exit_code == 0);

  fs::path json_file = project.dir / "diff.json";
  ProcessResult diff = project.run({"diff", "oci:" + layout_a.string(), "oci:" + layout_b.string() + ":latest",
                                    "--store", project.store.string(), "--json", json_file.string()});
  INFO(output_of(diff));
  REQUIRE(diff.exit_code == 0);
  CHECK(contains(diff.out, "A         oci:" + layout_a.string() + "\n"));
  CHECK(contains(diff.out, "largest   300 kB   /data/big.bin (layer 2)\n"));
  CHECK(contains(diff.out, " compressed, "));
  CHECK(contains(diff.out, "(+"));
  CHECK_FALSE(contains(diff.out, "not compared"));

  nlohmann::json document = nlohmann::json::parse(imgbuild::read_file(json_file));
  CHECK(document.at("schema") == "imgbuild-report/1");
  REQUIRE(document.at("largest_added").size() >= 1);
  const nlohmann::json& largest = document["largest_added"][0];
  CHECK(largest.at("path") == "/data/big.bin");
  CHECK(largest.at("size") == big_file_size);
  CHECK(largest.at("layer") == 2);
  CHECK(largest.at("modified") == false);
  CHECK(largest.at("step").is_string());
  CHECK(document.at("duplicated").is_array());
  CHECK(document.at("wasted_bytes") == 0);
  CHECK(document.at("size").at("uncompressed_delta").get<std::int64_t>() >= static_cast<std::int64_t>(big_file_size));
  CHECK(document.at("size").at("compressed_delta").get<std::int64_t>() > 250000);
  CHECK(document.at("layers").size() == 3);
  CHECK(document.at("previous").is_object());

  SECTION("the newest record without a stored image gives a snapshot diff") {
    ProcessResult snapshot = project.run({"diff", "previous:localhost/prune-diff:app", "oci:" + layout_a.string(),
                                          "--store", project.store.string()});
    INFO(output_of(snapshot));
    CHECK(snapshot.exit_code == 0);
    CHECK(contains(snapshot.out, "files     not compared (snapshot-level diff): A is the build record of "
                                 "'localhost/prune-diff', whose image is not in '" +
                                     (project.store / "images/localhost%2Fprune-diff").string() + "'"));
    CHECK_FALSE(contains(snapshot.out, "largest"));
  }
}

TEST_CASE("cli: diff previous against a layout", "[cli]") {
  Project project;
  fs::path layout_b = project.dir / "layout-b";
  project.add_big_file();
  ProcessResult built_b = project.build({"--output", "oci:" + layout_b.string() + ":big"});
  INFO(output_of(built_b));
  REQUIRE(built_b.exit_code == 0);
  fs::remove(project.dir / "context/data/big.bin");
  ProcessResult built_a = project.build({"--report", (project.dir / "report.json").string()});
  INFO(output_of(built_a));
  REQUIRE(built_a.exit_code == 0);
  REQUIRE(fs::exists(project.store / "images" / imgbuild::report::escape_record_name("localhost/prune-diff") / "index.json"));

  for (std::string previous : {"previous", "previous:localhost/prune-diff", "previous:localhost/prune-diff:app"}) {
    ProcessResult diff = project.run({"diff", previous, "oci:" + layout_b.string() + ":big", "--store", project.store.string()});
    INFO(previous << "\n" << output_of(diff));
    CHECK(diff.exit_code == 0);
    CHECK(contains(diff.out, "largest   300 kB   /data/big.bin (layer 2)\n"));
    CHECK_FALSE(contains(diff.out, "not compared"));
  }

  ProcessResult report = project.run({"diff", (project.dir / "report.json").string(), "oci:" + layout_b.string() + ":big",
                                      "--store", project.store.string()});
  INFO(output_of(report));
  CHECK(report.exit_code == 0);
  CHECK(contains(report.out, "files     not compared (snapshot-level diff): A is a JSON report or build record\n"));
}

TEST_CASE("cli: diff names unreadable inputs", "[cli]") {
  imgbuild::TempDir dir{"diff-inputs-"};
  std::string store = (dir / "store").string();
  std::string missing = "oci:" + (dir / "missing").string();
  ProcessResult unreadable = test::run_imgbuild({"diff", missing, missing, "--store", store});
  CHECK(unreadable.exit_code == 1);
  CHECK(unreadable.out.empty());
  CHECK(contains(unreadable.err, "imgbuild: error: reading '" + missing + "': "));

  ProcessResult no_record = test::run_imgbuild({"diff", "previous:localhost/none", missing, "--store", store});
  CHECK(no_record.exit_code == 1);
  CHECK(no_record.err == "imgbuild: error: reading 'previous:localhost/none': no successful build record of "
                         "'localhost/none' in '" + store + "/records'; build the image first, or pass --store with "
                         "the store the build used\n");

  ProcessResult unknown = test::run_imgbuild({"diff", "bogus", missing, "--store", store});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "imgbuild: error: invalid image 'bogus': use oci:DIR[:TAG], oci-archive:FILE[:TAG], "
                       "docker-archive:FILE[:NAME], docker://REF, a JSON report or record file, or "
                       "previous[:NAME[:TARGET]]\n");
}

TEST_CASE("cli: check shortens multi-line run", "[cli]") {
  imgbuild::TempDir dir{"check-"};
  test::write(dir / "recipe.toml", R"([image]
name = "localhost/app"

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
run = """
echo one
echo two
"""
network = "none"
)");
  ProcessResult result = test::run_imgbuild({"check", (dir / "recipe.toml").string()});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(contains(result.out, "\n  1. run echo one ... (network none)  [line 8]\n"));
  CHECK_FALSE(contains(result.out, "echo two"));
}
