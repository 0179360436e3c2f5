// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "context/support.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/ignore.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::IgnoreRules;

namespace {

struct Case {
  const char* rules;
  const char* path;
  bool excluded;
};

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("rules: " << c.rules << "\npath: " << c.path);
    IgnoreRules rules = IgnoreRules::parse(c.rules, ".dockerignore");
    CHECK(rules.excluded(c.path) == c.excluded);
  }
}

std::vector<std::string> copy_all(const fs::path& dir, const std::string& destination) {
  auto tree = context::open_directory_context(dir);
  context::CopyRequest request;
  request.sources = {"."};
  request.destination = destination;
  test::FakeImage image;
  return test::listing(context::plan_copy(request, *tree, image.query()));
}

}  // namespace

TEST_CASE("context: ignore star stays in one directory", "[context]") {
  check_cases({
      {"*.txt", "a.txt", true},
      {"*.txt", "dir/a.txt", false},
      {"*/*.txt", "dir/a.txt", true},
      {"*/*.txt", "dir/sub/a.txt", false},
      {"*", "anything", true},
      {"*", "dir/below", true},  // the parent "dir" matches
  });
}

TEST_CASE("context: ignore question mark and classes", "[context]") {
  check_cases({
      {"file?.txt", "file1.txt", true},
      {"file?.txt", "file10.txt", false},
      {"file?", "file/", false},
      {"[abc].log", "b.log", true},
      {"[abc].log", "d.log", false},
      {"[a-c].log", "c.log", true},
      {"[!a-c].log", "d.log", true},
      {"[^a-c].log", "a.log", false},
      {"\\*.txt", "*.txt", true},
      {"\\*.txt", "a.txt", false},
  });
}

TEST_CASE("context: ignore double star crosses directories", "[context]") {
  check_cases({
      {"**/*.py", "top.py", true},
      {"**/*.py", "a/b/c.py", true},
      {"**/cache", "cache", true},
      {"**/cache", "x/y/cache/file", true},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a/x/y/c", false},
      {"dist/**", "dist/a/b", true},
      {"dist/**", "distro", false},
      {"a**b", "a/x/b", true},
  });
}

TEST_CASE("context: ignore last matching line wins", "[context]") {
  check_cases({
      {"*.md\n!README.md", "README.md", false},
      {"*.md\n!README.md", "CHANGES.md", true},
      {"!README.md\n*.md", "README.md", true},
      {"docs\n!docs/keep", "docs/keep", false},
      {"docs\n!docs/keep", "docs/drop", true},
      {"docs\n!docs/keep", "docs/keep/inner", false},
  });
}

TEST_CASE("context: ignore patterns are anchored and cleaned", "[context]") {
  check_cases({
      {"/foo/bar", "foo/bar", true},
      {"/foo/bar", "src/foo/bar", false},
      {"foo/bar/", "foo/bar", true},
      {"foo/bar/", "foo/bar/baz", true},
      {"./foo//bar", "foo/bar", true},
      {"foo/../bar", "bar", true},
      {"node_modules", "node_modules/x/y.js", true},
      {"node_modules", "web/node_modules", false},
  });
}

TEST_CASE("context: ignore comments and whitespace", "[context]") {
  check_cases({
      {"# secret.txt", "# secret.txt", false},
      {"# secret.txt", "secret.txt", false},
      {"  build  ", "build", true},
      {" #notes", "#notes", true},
      {"\t*.o\t", "x.o", true},
      {"a.txt # comment", "a.txt", false},
      {"a.txt # comment", "a.txt # comment", true},
  });
}

TEST_CASE("context: ignore walk below excluded directories", "[context]") {
  IgnoreRules rules = IgnoreRules::parse("*\n!**/*.py\n!photos/*.jpeg", ".dockerignore");
  CHECK(rules.walk_below("subdir"));
  CHECK(rules.walk_below("photos"));

  IgnoreRules narrow = IgnoreRules::parse("build\n!src/keep.c", ".dockerignore");
  CHECK_FALSE(narrow.walk_below("build"));

  IgnoreRules deep = IgnoreRules::parse("vendor\n!vendor/a/b/c.go", ".dockerignore");
  CHECK(deep.walk_below("vendor"));
  CHECK(deep.walk_below("vendor/a"));
  CHECK_FALSE(deep.walk_below("vendor/x"));
}

TEST_CASE("context: ignore bad pattern names file and line", "[context]") {
  try {
    IgnoreRules::parse("ok\n\n  [abc\n", ".imgbuildignore");
    FAIL("no error for an unterminated class");
  } catch (const Error& error) {
    CHECK(std::string(error.what()) ==
          ".imgbuildignore:3: invalid pattern '[abc': unterminated '['; "
          "escape special characters with '\\' or fix the line");
  }
  CHECK_THROWS_WITH(IgnoreRules::parse("a\\", "x"), Catch::Contains("x:1: invalid pattern 'a\\\\'"));
  CHECK_THROWS_WITH(IgnoreRules::parse("!", "x"), Catch::Contains("x:1: invalid pattern '!'"));
  CHECK_THROWS_WITH(IgnoreRules::parse("[z-a]", "x"), Catch::Contains("invalid range 'z-a'"));
}

TEST_CASE("context: ignore file choice", "[context]") {
  TempDir dir("ctx-ignore-");
  test::write(dir / "a.txt", "a");
  test::write(dir / "b.txt", "b");
  test::write(dir / "c.txt", "c");
  test::write(dir / ".dockerignore", "a.txt\n");
  CHECK(context::load_ignore_rules(dir.path()).excluded("a.txt"));

  test::write(dir / ".imgbuildignore", "b.txt\n");
  IgnoreRules preferred = context::load_ignore_rules(dir.path());
  CHECK(preferred.file_name() == ".imgbuildignore");
  CHECK(preferred.excluded("b.txt"));
  CHECK_FALSE(preferred.excluded("a.txt"));

  test::write(dir / "custom.ignore", "c.txt\n");
  IgnoreRules named = context::load_ignore_rules(dir.path(), fs::path("custom.ignore"));
  CHECK(named.excluded("c.txt"));
  CHECK_FALSE(named.excluded("b.txt"));
  CHECK_THROWS_WITH(context::load_ignore_rules(dir.path(), fs::path("missing.ignore")),
                    Catch::Contains("missing.ignore") && Catch::Contains("not found"));
}

TEST_CASE("context: star with exceptions re-includes below", "[context]") {
  TempDir dir("ctx-br08-");
  for (const char* file : {"top.py", "top.txt", "subdir/sub.py", "subdir/deeper/deep.py", "subdir/notes.txt",
                           "photos/steak.jpeg", "recipes/cake.txt", "imgbuild.toml"})
    test::write(dir / file, "x");
  test::write(dir / ".dockerignore", "*\n!**/*.py\n!photos/*.jpeg\n!*/*.txt\n");

  CHECK(copy_all(dir.path(), "/srv") == std::vector<std::string>{
                                            "d 0755 0:0 srv",
                                            "d 0755 0:0 srv/photos",
                                            "f 0644 0:0 1 srv/photos/steak.jpeg",
                                            "d 0755 0:0 srv/recipes",
                                            "f 0644 0:0 1 srv/recipes/cake.txt",
                                            "d 0755 0:0 srv/subdir",
                                            "d 0755 0:0 srv/subdir/deeper",
                                            "f 0644 0:0 1 srv/subdir/deeper/deep.py",
                                            "f 0644 0:0 1 srv/subdir/notes.txt",
                                            "f 0644 0:0 1 srv/subdir/sub.py",
                                            "f 0644 0:0 1 srv/top.py",
                                        });
}

TEST_CASE("context: leading slash anchors at the root", "[context]") {
  TempDir dir("ctx-br10-");
  for (const char* file : {"foo/bar", "foo/baz", "src/foo/bar", "bla/x", "datasets/big.bin", "datasets/README",
                           "lib/datasets/keep"})
    test::write(dir / file, "x");
  test::write(dir / ".dockerignore", "/foo/bar\n/bla\n/datasets/*\n");

  CHECK(copy_all(dir.path(), "/app") == std::vector<std::string>{
                                            "d 0755 0:0 app",
                                            "f 0644 0:0 26 app/.dockerignore",
                                            "d 0755 0:0 app/datasets",
                                            "d 0755 0:0 app/foo",
                                            "f 0644 0:0 1 app/foo/baz",
                                            "d 0755 0:0 app/lib",
                                            "d 0755 0:0 app/lib/datasets",
                                            "f 0644 0:0 1 app/lib/datasets/keep",
                                            "d 0755 0:0 app/src",
                                            "d 0755 0:0 app/src/foo",
                                            "f 0644 0:0 1 app/src/foo/bar",
                                        });
}

TEST_CASE("context: comments only in column zero", "[context]") {
  TempDir dir("ctx-br12-");
  for (const char* file : {"dist/app.pex", "dist/app.whl", "#notes", "keep.txt", "[x64]cache"})
    test::write(dir / file, "x");
  std::string rules = "# Visual C++ cache files [x64\ndist/*\n!dist/*.pex  # keep the pex\n #notes\n";
  test::write(dir / ".dockerignore", rules);
  test::write(dir / ".imgbuildignore", rules + ".*ignore\n");

  CHECK(copy_all(dir.path(), "/c") == std::vector<std::string>{
                                          "d 0755 0:0 c",
                                          "f 0644 0:0 1 c/[x64]cache",
                                          "d 0755 0:0 c/dist",
                                          "f 0644 0:0 1 c/keep.txt",
                                      });
}
