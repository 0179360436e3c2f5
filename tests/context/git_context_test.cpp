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

// A repository whose "svc" directory has its own ignore file, a symlink that
// climbs above it and a nested directory, next to files at the root.
void make_service_repository(const fs::path& repo) {
  fs::create_directories(repo);
  git(repo, {"init", "-q", "-b", "main"});
  test::write(repo / "root.txt", "root\n");
  test::write(repo / ".dockerignore", "*.txt\n");
  test::write(repo / "svc/file.txt", "service\n");
  test::write(repo / "svc/debug.log", "log\n");
  test::write(repo / "svc/lib/util.sh", "#!/bin/sh\n", 0755);
  test::write(repo / "svc/.dockerignore", "*.log\n");
  fs::create_symlink("../../root.txt", repo / "svc/lib/up");
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "first"});
  git(repo, {"tag", "v1"});
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

TEST_CASE("context: git context subdirectory is the root", "[context]") {
  TempDir dir("ctx-git-sub-");
  make_service_repository(dir / "repo");
  std::string location = (dir / "repo").string();

  for (const std::string& subdirectory : {std::string("svc"), std::string("svc/"), std::string("./svc")}) {
    INFO("subdirectory " << subdirectory);
    auto tree = context::open_git_context(location, "v1", subdirectory);
    test::FakeImage image;

    context::CopyRequest whole;
    whole.sources = {"."};
    whole.destination = "/svc/";
    CopyPlan plan = context::plan_copy(whole, *tree, image.query());
    // svc/.dockerignore applies (debug.log is left out) and the root's does
    // not (file.txt stays).
    CHECK(test::listing(plan) == std::vector<std::string>{
                                     "d 0755 0:0 svc",
                                     "f 0644 0:0 6 svc/.dockerignore",
                                     "f 0644 0:0 8 svc/file.txt",
                                     "d 0755 0:0 svc/lib",
                                     "l svc/lib/up -> ../../root.txt",
                                     "f 0755 0:0 10 svc/lib/util.sh",
                                 });

    context::CopyRequest single_file;
    single_file.sources = {"file.txt"};
    single_file.destination = "/srv/";
    CopyPlan file = context::plan_copy(single_file, *tree, image.query());
    CHECK(test::file_paths(file) == std::vector<std::string>{"srv/file.txt"});
    CHECK(file.entries.back().content == "service\n");

    CHECK_FALSE(tree->entry("root.txt"));
    CHECK_FALSE(tree->entry("svc/file.txt"));
    CHECK(tree->entry("lib/util.sh"));
    CHECK(tree->commit_time() == 1704164645);
    CHECK(tree->annotations().at("org.opencontainers.image.source") == location);
    CHECK(tree->describe().find(" in directory 'svc'") != std::string::npos);
  }

  SECTION("a top-level symlink source stays inside the subdirectory") {
    auto tree = context::open_git_context(location, "v1", "svc");
    context::CopyRequest request;
    request.sources = {"lib/up"};
    request.destination = "/x";
    test::FakeImage image;
    CHECK_THROWS_WITH(context::plan_copy(request, *tree, image.query()),
                      Catch::StartsWith("copy source 'lib/up' is a symlink to '../../root.txt', which does not exist"));
  }

  SECTION("a named ignore file is read from the subdirectory") {
    test::write(dir / "repo/svc/custom.ignore", "lib\n");
    git(dir / "repo", {"add", "-A"});
    git(dir / "repo", {"commit", "-q", "-m", "second"});
    auto tree = context::open_git_context(location, "main", "svc", fs::path("custom.ignore"));
    CHECK(tree->excluded("lib"));
    CHECK_FALSE(tree->excluded("debug.log"));
    CHECK_THROWS_WITH(context::open_git_context(location, "main", "svc", fs::path("root.txt")),
                      Catch::StartsWith("ignore file 'root.txt' not found in git context"));
  }
}

TEST_CASE("context: git context subdirectory errors", "[context]") {
  TempDir dir("ctx-git-sub-err-");
  make_service_repository(dir / "repo");
  std::string location = (dir / "repo").string();
  auto exit_code = [&](const std::string& subdirectory) {
    try {
      context::open_git_context(location, "v1", subdirectory);
    } catch (const Error& error) {
      return error.code();
    }
    return ExitCode::success;
  };

  CHECK_THROWS_WITH(context::open_git_context(location, "v1", "missing"),
                    Catch::StartsWith("context directory 'missing' not found in commit "));
  CHECK(exit_code("missing") == ExitCode::usage);
  CHECK_THROWS_WITH(context::open_git_context(location, "v1", "svc/file.txt"),
                    Catch::Contains(" is not a directory; set [context] dir to a directory"));
  CHECK_THROWS_WITH(context::open_git_context(location, "v1", "svc/../.."),
                    "context directory 'svc/../..' leaves the git repository; name a subdirectory inside it");
  CHECK(exit_code("svc/../..") == ExitCode::usage);
}

TEST_CASE("context: strip credentials from URLs", "[context]") {
  CHECK(context::strip_credentials("https://user:token@example.invalid/a/b.git") == "https://example.invalid/a/b.git");
  CHECK(context::strip_credentials("https://example.invalid/a@b") == "https://example.invalid/a@b");
  CHECK(context::strip_credentials("/srv/repo") == "/srv/repo");
  CHECK(context::strip_credentials("file:///srv/repo") == "file:///srv/repo");
}
