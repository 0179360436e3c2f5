// SPDX-License-Identifier: Apache-2.0
// Builds of recipes with copy and workdir steps on a scratch base, read
// back from the OCI layout they write: which files each layer contains and
// with which mtime. They need no runc, network or registry.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

// A recipe directory with its own store and temporary directory.
struct Project {
  TempDir dir{"e2e-copy-"};
  std::filesystem::path recipe = dir / "recipe.toml";
  std::filesystem::path store = dir / "store";

  explicit Project(const std::string& text) { write(recipe, text); }

  ProcessResult build(const std::string& layout, std::vector<std::string> env = {}) {
    std::vector<std::string> args = {"build",    recipe.string(), "--store", store.string(), "--progress",
                                     "plain",    "--output",      "oci:" + (dir / layout).string()};
    ProcessOptions options;
    std::filesystem::create_directories(dir / "tmp");
    options.extra_env = std::move(env);
    options.extra_env.push_back("TMPDIR=" + (dir / "tmp").string());
    return run_imgbuild(args, options);
  }

  // Returns the layer blobs of the image in OCI layout `layout`, bottom first.
  std::vector<std::filesystem::path> layers(const std::string& layout) const {
    std::filesystem::path blobs = dir / layout / "blobs/sha256";
    auto blob = [&](const nlohmann::json& descriptor) {
      std::string digest = descriptor.at("digest").get<std::string>();
      return blobs / digest.substr(digest.find(':') + 1);
    };
    nlohmann::json index = nlohmann::json::parse(read_file(dir / layout / "index.json"));
    nlohmann::json manifest = nlohmann::json::parse(read_file(blob(index.at("manifests").at(0))));
    std::vector<std::filesystem::path> paths;
    for (const auto& layer : manifest.at("layers")) paths.push_back(blob(layer));
    return paths;
  }
};

// One line per layer entry, in layer order: "opt/lib/ 1700000000".
std::vector<std::string> names_and_mtimes(const std::filesystem::path& blob) {
  std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_filename(reader.get(), blob.c_str(), 1 << 16) != ARCHIVE_OK)
    fail("cannot open layer ", quote(blob.string()), ": ", archive_error_string(reader.get()));
  std::vector<std::string> lines;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK)
    lines.push_back(cat(archive_entry_pathname(entry), " ", archive_entry_mtime(entry)));
  return lines;
}

std::string output_of(const ProcessResult& result) { return result.out + result.err; }

}  // namespace

TEST_CASE("e2e: git context dir is the context root", "[e2e]") {
  Project project(R"(
[image]
name = "localhost/git-dir"

[context]
git = "repo"
ref = "v1"
dir = "svc"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
copy = "."
to = "/svc/"

[[stage.step]]
copy = "file.txt"
to = "/"
)");
  std::filesystem::path repo = project.dir / "repo";
  write(repo / "top.txt", "top\n");
  write(repo / "svc/file.txt", "service\n");
  write(repo / "svc/debug.log", "log\n");
  write(repo / "svc/.dockerignore", "*.log\n.dockerignore\n");
  ProcessOptions git;
  git.extra_env = {"GIT_AUTHOR_NAME=Test",    "GIT_AUTHOR_EMAIL=test@example.invalid",
                   "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
                   "GIT_CONFIG_NOSYSTEM=1",   "HOME=/nonexistent"};
  run_checked({"git", "-C", repo.string(), "init", "-q", "-b", "main"}, git);
  run_checked({"git", "-C", repo.string(), "add", "-A"}, git);
  run_checked({"git", "-C", repo.string(), "commit", "-q", "-m", "first"}, git);
  run_checked({"git", "-C", repo.string(), "tag", "v1"}, git);

  ProcessResult built = project.build("layout");
  INFO(output_of(built));
  REQUIRE(built.exit_code == 0);
  std::vector<std::filesystem::path> layers = project.layers("layout");
  REQUIRE(layers.size() == 2);
  CHECK(names_and_mtimes(layers[0]) == std::vector<std::string>{"svc/ 1700000000", "svc/file.txt 1700000000"});
  CHECK(names_and_mtimes(layers[1]) == std::vector<std::string>{"file.txt 1700000000"});
}

TEST_CASE("e2e: copy and workdir keys cover epoch", "[e2e]") {
  Project project(R"(
[image]
name = "localhost/copy-epoch"

[context]
dir = "context"

[[stage]]
name = "app"
base = "scratch"

# A scratch base has no /etc/passwd to resolve "root" in.
[[stage.step]]
user = "0:0"

[[stage.step]]
workdir = "/data/cache"

[[stage.step]]
copy = "file.txt"
to = "/"
)");
  write(project.dir / "context/file.txt", "text\n");

  ProcessResult first = project.build("first", {"SOURCE_DATE_EPOCH=1700000000"});
  INFO(output_of(first));
  REQUIRE(first.exit_code == 0);
  ProcessResult second = project.build("second", {"SOURCE_DATE_EPOCH=1600000000"});
  INFO(output_of(second));
  REQUIRE(second.exit_code == 0);
  CHECK(second.err.find("WORKDIR /data/cache ... built") != std::string::npos);
  CHECK(second.err.find("COPY file.txt / ... built") != std::string::npos);

  std::vector<std::filesystem::path> layers = project.layers("second");
  REQUIRE(layers.size() == 2);
  CHECK(names_and_mtimes(layers[0]) == std::vector<std::string>{"data/ 1600000000", "data/cache/ 1600000000"});
  CHECK(names_and_mtimes(layers[1]) == std::vector<std::string>{"file.txt 1600000000"});

  ProcessResult again = project.build("again", {"SOURCE_DATE_EPOCH=1600000000"});
  INFO(output_of(again));
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("WORKDIR /data/cache ... cached") != std::string::npos);
  CHECK(again.err.find("COPY file.txt / ... cached") != std::string::npos);
}

TEST_CASE("e2e: copy parents carry the epoch", "[e2e]") {
  Project project(R"(
[image]
name = "localhost/copy-parents"

[context]
dir = "context"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "app"
base = "scratch"

[[stage.step]]
copy = "file.txt"
to = "/opt/lib/"
)");
  write(project.dir / "context/file.txt", "text\n");

  ProcessResult built = project.build("layout");
  INFO(output_of(built));
  REQUIRE(built.exit_code == 0);
  std::vector<std::filesystem::path> layers = project.layers("layout");
  REQUIRE(layers.size() == 1);
  CHECK(names_and_mtimes(layers[0]) ==
        std::vector<std::string>{"opt/ 1700000000", "opt/lib/ 1700000000", "opt/lib/file.txt 1700000000"});
}
