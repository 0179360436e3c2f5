// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "context/support.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::CopyPlan;

namespace {

const std::vector<std::string> git_env = {
    "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid", "GIT_COMMITTER_NAME=Test",
    "GIT_COMMITTER_EMAIL=test@example.invalid", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z",
    "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z", "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent"};

std::string git(const fs::path& repo, std::vector<std::string> args) {
  std::vector<std::string> argv = {"git", "-C", repo.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.extra_env = git_env;
  return std::string(trim(run_checked(argv, options)));
}

// A repository with an executable, a symlink, an ignored-by-context file and
// one commit tagged v1 on branch main.
std::string make_repository(const fs::path& repo) {
  fs::create_directories(repo);
  git(repo, {"init", "-q", "-b", "main"});
  test::write(repo / "app.py", "print('hi')\n");
  test::write(repo / "bin/run", "#!/bin/sh\n", 0755);
  fs::create_symlink("../app.py", repo / "bin/app");
  test::write(repo / "build.log", "log\n");
  test::write(repo / ".dockerignore", "*.log\n.git\n");
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "first"});
  git(repo, {"tag", "v1"});
  return git(repo, {"rev-parse", "HEAD"});
}

struct Planned {
  std::vector<std::string> listing;
  std::vector<std::string> contents;
  Digest input_hash;
};

Planned plan_git(const std::string& location, const std::string& ref) {
  auto tree = context::open_git_context(location, ref);
  context::CopyRequest request;
  request.sources = {"."};
  request.destination = "/app/";
  test::FakeImage image;
  CopyPlan plan = context::plan_copy(request, *tree, image.query());
  Planned result{test::listing(plan), {}, plan.input_hash};
  for (const layer::Entry& entry : plan.entries)
    result.contents.push_back(entry.content.value_or(cat("<", entry.source, ">")));
  return result;
}

}  // namespace

TEST_CASE("context: git context reads the committed tree", "[context]") {
  TempDir dir("ctx-git-");
  std::string sha = make_repository(dir / "repo");

  Planned planned = plan_git((dir / "repo").string(), sha);
  CHECK(planned.listing == std::vector<std::string>{
                               "d 0755 0:0 app",
                               "f 0644 0:0 11 app/.dockerignore",
                               "f 0644 0:0 12 app/app.py",
                               "d 0755 0:0 app/bin",
                               "l app/bin/app -> ../app.py",
                               "f 0755 0:0 10 app/bin/run",
                           });
  CHECK(planned.contents[2] == "print('hi')\n");

  auto tree = context::open_git_context((dir / "repo").string(), "v1");
  CHECK(tree->commit_time() == 1704164645);
  CHECK(tree->annotations() == std::map<std::string, std::string>{
                                   {"org.opencontainers.image.revision", sha},
                                   {"org.opencontainers.image.source", (dir / "repo").string()},
                               });
  CHECK(tree->entry("app.py")->mtime == 1704164645);
}

TEST_CASE("context: git context ignores the working copy", "[context]") {
  TempDir dir("ctx-git-wc-");
  std::string sha = make_repository(dir / "repo");
  Planned clean = plan_git((dir / "repo").string(), sha);

  test::write(dir / "repo/app.py", "print('changed')\n");
  test::write(dir / "repo/untracked.txt", "new\n");
  test::write(dir / "repo/.gitignore", "ignored.bin\n");
  test::write(dir / "repo/ignored.bin", "bin\n");
  fs::remove(dir / "repo/bin/run");
  Planned dirty = plan_git((dir / "repo").string(), sha);
  CHECK(dirty.listing == clean.listing);
  CHECK(dirty.contents == clean.contents);
  CHECK(dirty.input_hash == clean.input_hash);

  SECTION("a clone elsewhere gives the same plan") {
    run_checked({"git", "clone", "-q", (dir / "repo").string(), (dir / "elsewhere/clone").string()});
    for (const std::string& ref : {sha, std::string("v1"), std::string("main")}) {
      Planned cloned = plan_git("file://" + (dir / "elsewhere/clone").string(), ref);
      CHECK(cloned.listing == clean.listing);
      CHECK(cloned.contents == clean.contents);
      CHECK(cloned.input_hash == clean.input_hash);
    }
  }
}

TEST_CASE("context: git context errors", "[context]") {
  TempDir dir("ctx-git-err-");
  make_repository(dir / "repo");
  CHECK_THROWS_WITH(context::open_git_context((dir / "repo").string(), "nope"),
                    Catch::StartsWith(cat("git ref 'nope' not found in ", quote((dir / "repo").string()))));
  CHECK_THROWS_WITH(context::open_git_context("https://user:pw@example.invalid/r.git", "main"),
                    "git context 'https://example.invalid/r.git' is not local; only a repository path or a "
                    "file:// URL is supported, so clone it first");
  CHECK_THROWS_WITH(context::open_git_context((dir / "missing").string(), "main"),
                    Catch::StartsWith("cannot open git repository"));
}

TEST_CASE("context: strip credentials from URLs", "[context]") {
  CHECK(context::strip_credentials("https://user:token@example.invalid/a/b.git") == "https://example.invalid/a/b.git");
  CHECK(context::strip_credentials("https://example.invalid/a@b") == "https://example.invalid/a@b");
  CHECK(context::strip_credentials("/srv/repo") == "/srv/repo");
  CHECK(context::strip_credentials("file:///srv/repo") == "file:///srv/repo");
}
