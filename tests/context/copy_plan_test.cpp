// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "context/support.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::CopyPlan;
using context::CopyRequest;

namespace {

CopyRequest copy(std::vector<std::string> sources, std::string destination) {
  CopyRequest request;
  request.sources = std::move(sources);
  request.destination = std::move(destination);
  return request;
}

CopyPlan plan(const fs::path& dir, const CopyRequest& request, const test::FakeImage& image = {}) {
  auto tree = context::open_directory_context(dir);
  return context::plan_copy(request, *tree, image.query());
}

// The 20-byte v2 capability set for cap_net_raw, effective.
const std::string net_raw_capability("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                                     20);

}  // namespace

TEST_CASE("context: copy keeps dangling and absolute symlinks", "[context]") {
  TempDir dir("ctx-br01-");
  test::write(dir / "a/keep.txt", "k\n");
  fs::create_symlink("abc", dir / "a/dangling");
  fs::create_symlink("/nonexistent/target", dir / "a/abs");

  CHECK(test::listing(plan(dir.path(), copy({"a"}, "/a"))) == std::vector<std::string>{
                                                                   "d 0755 0:0 a",
                                                                   "l a/abs -> /nonexistent/target",
                                                                   "l a/dangling -> abc",
                                                                   "f 0644 0:0 2 a/keep.txt",
                                                               });
}

TEST_CASE("context: copy from stage keeps capabilities", "[context]") {
  TempDir dir("ctx-br03-");
  test::write(dir / "builder/ping", "#!/bin/true\n", 0755);
  REQUIRE(::setxattr((dir / "builder/ping").c_str(), "security.capability", net_raw_capability.data(),
                     net_raw_capability.size(), 0) == 0);
  context::RootfsView builder({dir / "builder"}, "stage 'builder'");
  test::FakeImage runtime;
  runtime.mkdir_p("/usr/local/bin");

  CopyPlan plain = context::plan_copy(copy({"/ping"}, "/usr/local/bin/ping"), builder, runtime.query());
  CopyRequest chown = copy({"/ping"}, "/usr/local/bin/ping-user");
  chown.owner = context::Owner{1000, 1000};
  CopyPlan owned = context::plan_copy(chown, builder, runtime.query());

  REQUIRE(plain.entries.size() == 1);
  REQUIRE(owned.entries.size() == 1);
  CHECK(plain.entries[0].path == "usr/local/bin/ping");
  CHECK(plain.entries[0].xattrs.at("security.capability") == net_raw_capability);
  CHECK(owned.entries[0].path == "usr/local/bin/ping-user");
  CHECK(owned.entries[0].uid == 1000);
  CHECK(owned.entries[0].gid == 1000);
  CHECK(owned.entries[0].mode == 0755);
  CHECK(owned.entries[0].xattrs.at("security.capability") == net_raw_capability);

  SECTION("the written layer carries the xattr") {
    store::Store store = store::Store::open(dir / "store");
    std::vector<layer::Entry> entries = plain.entries;
    entries.insert(entries.end(), owned.entries.begin(), owned.entries.end());
    layer::LayerResult layer = layer::write_layer(entries, {layer::Compression::none}, store);

    std::map<std::string, layer::Entry> read;
    layer::for_each_entry(store.blob_path(layer.digest),
                          [&](const layer::Entry& entry, layer::ContentReader&) { read[entry.path] = entry; });
    REQUIRE(read.count("usr/local/bin/ping-user"));
    CHECK(read["usr/local/bin/ping"].xattrs.at("security.capability") == net_raw_capability);
    CHECK(read["usr/local/bin/ping-user"].xattrs.at("security.capability") == net_raw_capability);
    CHECK(read["usr/local/bin/ping-user"].uid == 1000);
  }
}

TEST_CASE("context: copy globs that match nothing", "[context]") {
  TempDir dir("ctx-br29-");
  test::write(dir / "a.txt", "a");
  test::write(dir / "b.txt", "b");
  fs::create_directories(dir / "empty");
  test::write(dir / "pom.xml", "<p/>");

  SECTION("a glob in an empty directory copies nothing") {
    CHECK(plan(dir.path(), copy({"empty/*"}, "/dst/")).entries.empty());
  }
  SECTION("an unmatched glob beside a match is fine") {
    CHECK(test::listing(plan(dir.path(), copy({"nomatch*", "pom.xml"}, "/opt/lib/"))) ==
          std::vector<std::string>{"d 0755 0:0 opt", "d 0755 0:0 opt/lib", "f 0644 0:0 4 opt/lib/pom.xml"});
  }
  SECTION("a glob alone that matches nothing fails") {
    CHECK_THROWS_WITH(plan(dir.path(), copy({"nomatch*"}, "/dst/")),
                      Catch::StartsWith("no file in build context") && Catch::Contains("matches 'nomatch*'"));
  }
  SECTION("a glob under a missing directory fails") {
    CHECK_THROWS_WITH(plan(dir.path(), copy({"nodir/*"}, "/dst/")),
                      Catch::StartsWith("no file in build context") && Catch::Contains("matches 'nodir/*'"));
    CHECK_THROWS_WITH(plan(dir.path(), copy({"a.txt/*"}, "/dst/")), Catch::Contains("matches 'a.txt/*'"));
  }
  SECTION("a missing literal file fails naming it") {
    CHECK_THROWS_WITH(plan(dir.path(), copy({"missing.txt"}, "/dst/")),
                      Catch::StartsWith("copy source 'missing.txt' not found in build context"));
  }
  SECTION("several matches go into a directory") {
    CHECK(test::file_paths(plan(dir.path(), copy({"*.txt"}, "/dst/"))) ==
          std::vector<std::string>{"dst/a.txt", "dst/b.txt"});
  }
  SECTION("several matches onto a file path fail") {
    CHECK_THROWS_WITH(plan(dir.path(), copy({"*.txt"}, "/dst/t.txt")),
                      "copying 2 sources to '/dst/t.txt' needs a directory destination ending in '/'; "
                      "write '/dst/t.txt/'");
  }
}

TEST_CASE("context: copy destination forms", "[context]") {
  TempDir dir("ctx-br30-");
  test::write(dir / "podinfo.yaml", "kind: x\n");
  test::write(dir / "api/api.txt", "api\n");
  test::write(dir / "api/sub/s.txt", "s\n");
  test::FakeImage image;
  image.mkdir_p("/build");

  auto step = [&](CopyRequest request) {
    request.workdir = "/build";
    CopyPlan result = plan(dir.path(), request, image);
    image.apply(result);
    return test::listing(result);
  };

  CHECK(step(copy({"podinfo.yaml"}, "bin/")) ==
        std::vector<std::string>{"d 0755 0:0 build/bin", "f 0644 0:0 8 build/bin/podinfo.yaml"});
  CHECK(step(copy({"podinfo.yaml"}, "conf")) == std::vector<std::string>{"f 0644 0:0 8 build/conf"});
  image.mkdir_p("/app/api");
  CHECK(step(copy({"api"}, "/app/api/")) == std::vector<std::string>{
                                               "f 0644 0:0 4 app/api/api.txt",
                                               "d 0755 0:0 app/api/sub",
                                               "f 0644 0:0 2 app/api/sub/s.txt",
                                           });
  CHECK(step(copy({"api"}, "/newdir")) == std::vector<std::string>{
                                             "d 0755 0:0 newdir",
                                             "f 0644 0:0 4 newdir/api.txt",
                                             "d 0755 0:0 newdir/sub",
                                             "f 0644 0:0 2 newdir/sub/s.txt",
                                         });
  CHECK(step(copy({"podinfo.yaml"}, "/app")) == std::vector<std::string>{"f 0644 0:0 8 app/podinfo.yaml"});
}

TEST_CASE("context: created parents carry the epoch", "[context]") {
  TempDir dir("ctx-parent-epoch-");
  test::write(dir / "podinfo.yaml", "kind: x\n");
  test::write(dir / "conf/app.ini", "i");
  struct stat conf_stat {};
  REQUIRE(::stat((dir / "conf").c_str(), &conf_stat) == 0);
  std::int64_t source_mtime = conf_stat.st_mtime;
  REQUIRE(source_mtime != 1700000000);

  CopyRequest file_request = copy({"podinfo.yaml"}, "/opt/lib/");
  file_request.epoch = 1700000000;
  CopyPlan file_plan = plan(dir.path(), file_request);
  REQUIRE(test::listing(file_plan) ==
          std::vector<std::string>{"d 0755 0:0 opt", "d 0755 0:0 opt/lib", "f 0644 0:0 8 opt/lib/podinfo.yaml"});
  CHECK(file_plan.entries[0].mtime == 1700000000);
  CHECK(file_plan.entries[1].mtime == 1700000000);

  // A destination directory made from a source directory takes the source's
  // mtime; only the parents above it are created.
  CopyRequest directory_request = copy({"conf"}, "/srv/conf");
  directory_request.epoch = 1700000000;
  CopyPlan directory_plan = plan(dir.path(), directory_request);
  REQUIRE(test::listing(directory_plan) ==
          std::vector<std::string>{"d 0755 0:0 srv", "d 0755 0:0 srv/conf", "f 0644 0:0 1 srv/conf/app.ini"});
  CHECK(directory_plan.entries[0].mtime == 1700000000);
  CHECK(directory_plan.entries[1].mtime == source_mtime);
}

TEST_CASE("context: copy owner and mode apply to everything", "[context]") {
  TempDir dir("ctx-owner-");
  test::write(dir / "tool", "t", 04755);
  ::chmod((dir / "tool").c_str(), 04755);
  test::write(dir / "conf/app.ini", "i");

  CopyRequest request = copy({"tool", "conf"}, "/opt/x/");
  request.owner = context::Owner{33, 44};
  CHECK(test::listing(plan(dir.path(), request)) == std::vector<std::string>{
                                                        "d 0755 33:44 opt",
                                                        "d 0755 33:44 opt/x",
                                                        "f 0644 33:44 1 opt/x/app.ini",
                                                        "f 4755 33:44 1 opt/x/tool",
                                                    });

  request.mode = 02750;
  CHECK(test::listing(plan(dir.path(), request)) == std::vector<std::string>{
                                                        "d 0755 33:44 opt",
                                                        "d 2750 33:44 opt/x",  // takes the metadata of the source directory conf
                                                        "f 2750 33:44 1 opt/x/app.ini",
                                                        "f 2750 33:44 1 opt/x/tool",
                                                    });
}

TEST_CASE("context: copy from stage keeps owners", "[context]") {
  TempDir dir("ctx-stage-owner-");
  test::write(dir / "root/home/app/data", "d");
  REQUIRE(::chown((dir / "root/home/app").c_str(), 1000, 1000) == 0);
  REQUIRE(::chown((dir / "root/home/app/data").c_str(), 1000, 1001) == 0);
  fs::permissions(dir / "root/home/app", fs::perms(0750));
  context::RootfsView stage({dir / "root"}, "stage 'build'");
  test::FakeImage image;

  CHECK(test::listing(context::plan_copy(copy({"/home/app"}, "/srv/"), stage, image.query())) ==
        std::vector<std::string>{"d 0750 1000:1000 srv", "f 0644 1000:1001 1 srv/data"});
}

TEST_CASE("context: copy follows a top-level symlink", "[context]") {
  TempDir dir("ctx-toplink-");
  test::write(dir / "real/file", "f");
  fs::create_symlink("real", dir / "link");
  fs::create_symlink("real/file", dir / "filelink");
  fs::create_symlink("gone", dir / "broken");

  CHECK(test::listing(plan(dir.path(), copy({"link"}, "/x"))) ==
        std::vector<std::string>{"d 0755 0:0 x", "f 0644 0:0 1 x/file"});
  CHECK(test::listing(plan(dir.path(), copy({"filelink"}, "/y/"))) ==
        std::vector<std::string>{"d 0755 0:0 y", "f 0644 0:0 1 y/filelink"});
  CHECK_THROWS_WITH(plan(dir.path(), copy({"broken"}, "/z")),
                    Catch::StartsWith("copy source 'broken' is a symlink to 'gone', which does not exist"));
}

TEST_CASE("context: copy from stage resolves inside its root", "[context]") {
  TempDir dir("ctx-stage-link-");
  test::write(dir / "root/opt/app/bin/run", "r", 0755);
  fs::create_directories(dir / "root/usr");
  fs::create_symlink("/../../opt/app", dir / "root/usr/app");
  context::RootfsView stage({dir / "root"}, "stage 'build'");
  test::FakeImage image;

  CHECK(test::listing(context::plan_copy(copy({"/usr/app/bin/run"}, "/run"), stage, image.query())) ==
        std::vector<std::string>{"f 0755 0:0 1 run"});
}

TEST_CASE("context: copy keeps hardlinks within one copy", "[context]") {
  TempDir dir("ctx-hardlink-");
  test::write(dir / "d/zz", "same\n");
  fs::create_hard_link(dir / "d/zz", dir / "d/aa");
  fs::create_hard_link(dir / "d/zz", dir / "d/mm");

  CHECK(test::listing(plan(dir.path(), copy({"d"}, "/d"))) == std::vector<std::string>{
                                                                   "d 0755 0:0 d",
                                                                   "f 0644 0:0 5 d/aa",
                                                                   "h d/mm => d/aa",
                                                                   "h d/zz => d/aa",
                                                               });
}

TEST_CASE("context: copy keeps raw name bytes", "[context]") {
  TempDir dir("ctx-names-");
  std::vector<std::string> names = {"test-\xc3\xa4\xc3\xb6\xc3\xbc.txt", std::string("caf\xe9"), "foo\nbar.txt"};
  for (const std::string& name : names) test::write(dir / "n" / name, "x");

  CHECK(test::file_paths(plan(dir.path(), copy({"n"}, "/ctx/"))) ==
        std::vector<std::string>{"ctx/caf\xe9", "ctx/foo\nbar.txt", "ctx/test-\xc3\xa4\xc3\xb6\xc3\xbc.txt"});
  CHECK(test::file_paths(plan(dir.path(), copy({std::string("n/caf\xe9")}, "/"))) ==
        std::vector<std::string>{"caf\xe9"});
  CHECK(test::file_paths(plan(dir.path(), copy({"n/foo\nbar.txt"}, "/tmp/"))) ==
        std::vector<std::string>{"tmp/foo\nbar.txt"});
}

TEST_CASE("context: copy rejects excluded literal sources", "[context]") {
  TempDir dir("ctx-excluded-");
  test::write(dir / "secret.txt", "s");
  test::write(dir / ".dockerignore", "secret.txt\n");
  CHECK_THROWS_WITH(plan(dir.path(), copy({"secret.txt"}, "/x")),
                    Catch::StartsWith("copy source 'secret.txt' is excluded by the ignore file"));
}

TEST_CASE("context: copy later source replaces earlier path", "[context]") {
  TempDir dir("ctx-replace-");
  test::write(dir / "one/conf/app.ini", "from one\n");
  test::write(dir / "one/one.txt", "1");
  test::write(dir / "two/conf/app.ini", "from two, longer\n");
  test::write(dir / "two/a.txt", "2");

  CopyPlan result = plan(dir.path(), copy({"one", "two"}, "/srv/"));
  CHECK(test::listing(result) == std::vector<std::string>{
                                     "d 0755 0:0 srv",
                                     "f 0644 0:0 1 srv/a.txt",
                                     "d 0755 0:0 srv/conf",
                                     "f 0644 0:0 17 srv/conf/app.ini",
                                     "f 0644 0:0 1 srv/one.txt",
                                 });
  REQUIRE(result.origins.size() == 5);
  CHECK(result.origins[3] == "two/conf/app.ini");
  CHECK(result.content_digests[3] == sha256_of("from two, longer\n").str());
  CHECK(result.entries[3].source == dir / "two/conf/app.ini");
}
