// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/context/users.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::RootfsView;

namespace {

void whiteout(const fs::path& path) {
  fs::create_directories(path.parent_path());
  REQUIRE(::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0);
}

void make_opaque(const fs::path& directory, const char* name = "trusted.overlay.opaque") {
  REQUIRE(::setxattr(directory.c_str(), name, "y", 1, 0) == 0);
}

// Three layers: a base, a layer deleting and replacing things, and a top.
struct Stack {
  TempDir dir{"ctx-view-"};
  fs::path bottom = dir / "0";
  fs::path middle = dir / "1";
  fs::path top = dir / "2";

  Stack() {
    test::write(bottom / "etc/hostname", "base\n");
    test::write(bottom / "etc/removed", "gone\n");
    test::write(bottom / "opt/old/file", "old\n");
    test::write(bottom / "usr/lib/a", "a\n");
    fs::create_symlink("usr/lib", bottom / "lib");
    test::write(bottom / "var/keep", "keep\n");

    whiteout(middle / "etc/removed");
    test::write(middle / "opt/old/new", "new\n");
    make_opaque(middle / "opt/old");
    test::write(middle / "usr/lib/b", "b\n");

    test::write(top / "etc/hostname", "top\n");
    fs::create_symlink("/../../../etc/hostname", top / "escape");
    fs::create_symlink("../../..", top / "up");
    fs::create_symlink("loop2", top / "loop1");
    fs::create_symlink("loop1", top / "loop2");
    fs::create_directories(top / "var");
  }

  RootfsView view() const { return RootfsView({bottom, middle, top}, "stage 'test'"); }
};

}  // namespace

TEST_CASE("context: view merges layers top first", "[context]") {
  Stack stack;
  RootfsView view = stack.view();
  CHECK(view.read_file("/etc/hostname") == "top\n");
  CHECK(view.list_directory("/etc") == std::vector<std::string>{"hostname"});
  CHECK(view.list_directory("/usr/lib") == std::vector<std::string>{"a", "b"});
  CHECK(view.list_directory("/var") == std::vector<std::string>{"keep"});
  CHECK(view.list_directory("/") ==
        std::vector<std::string>{"escape", "etc", "lib", "loop1", "loop2", "opt", "up", "usr", "var"});
}

TEST_CASE("context: view hides whiteouts and opaque dirs", "[context]") {
  Stack stack;
  RootfsView view = stack.view();
  CHECK_FALSE(view.lstat("/etc/removed"));
  CHECK_THROWS_WITH(view.read_file("/etc/removed"), Catch::Contains("'/etc/removed' not found in stage 'test'"));
  CHECK(view.list_directory("/opt/old") == std::vector<std::string>{"new"});
  CHECK_FALSE(view.lstat("opt/old/file"));
  CHECK(view.xattrs("opt/old").empty());
}

TEST_CASE("context: view honours user opaque xattr", "[context]") {
  TempDir dir("ctx-view-user-");
  test::write(dir / "0/d/old", "x");
  test::write(dir / "1/d/new", "y");
  make_opaque(dir / "1/d", "user.overlay.opaque");
  RootfsView view({dir / "0", dir / "1"});
  CHECK(view.list_directory("d") == std::vector<std::string>{"new"});
}

TEST_CASE("context: view resolves symlinks inside the root", "[context]") {
  Stack stack;
  RootfsView view = stack.view();
  CHECK(view.resolve("/lib/b") == "usr/lib/b");
  CHECK(view.read_file("/lib/a") == "a\n");
  CHECK(view.read_file("/escape") == "top\n");                 // "/../../../etc/hostname" stays inside
  CHECK(view.resolve("/up/etc/hostname") == "etc/hostname");   // "../../.." clamps at the root
  CHECK(view.resolve("/etc/../../../usr") == "usr");
  CHECK(view.readlink("/lib") == "usr/lib");
  CHECK(view.lstat("/lib")->type == layer::EntryType::symlink);
  CHECK(view.host_path("/lib/b") == stack.middle / "usr/lib/b");
  CHECK_THROWS_WITH(view.resolve("/loop1"), Catch::Contains("too many levels of symbolic links"));
  CHECK_FALSE(view.resolve("/etc/hostname/x"));
}

TEST_CASE("context: plain view keeps device nodes", "[context]") {
  TempDir dir("ctx-view-plain-");
  whiteout(dir / "null0");
  RootfsView view = RootfsView::plain(dir.path());
  CHECK(view.list_directory("/") == std::vector<std::string>{"null0"});
  CHECK(view.lstat("null0")->type == layer::EntryType::char_device);
}

TEST_CASE("context: plain view scan matches list and lstat", "[context]") {
  TempDir dir("ctx-view-scan-");
  test::write(dir / "b/file", "bytes", 0640);
  test::write(dir / "a.txt", "a");
  fs::create_symlink("b/file", dir / "link");
  REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
  REQUIRE(::link((dir / "a.txt").c_str(), (dir / "hard").c_str()) == 0);
  RootfsView view = RootfsView::plain(dir.path());

  for (std::string directory : {"", "b"}) {
    INFO(directory);
    std::vector<context::DirectoryEntry> scanned = view.scan(directory);
    std::vector<std::string> names = view.list(directory);
    REQUIRE(scanned.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      INFO(names[i]);
      CHECK(scanned[i].name == names[i]);
      std::optional<context::FileInfo> expected = view.entry(directory.empty() ? names[i] : directory + "/" + names[i]);
      REQUIRE(scanned[i].info.has_value() == expected.has_value());
      if (!expected) continue;
      const context::FileInfo& got = *scanned[i].info;
      CHECK(got.type == expected->type);
      CHECK(got.mode == expected->mode);
      CHECK(got.size == expected->size);
      CHECK(got.link_target == expected->link_target);
      CHECK(got.inode == expected->inode);
      CHECK(got.nlink == expected->nlink);
      CHECK(got.mtime_ns == expected->mtime_ns);
      CHECK(got.ctime_ns == expected->ctime_ns);
    }
  }
  CHECK(view.list("") == std::vector<std::string>{"a.txt", "b", "hard", "link", "pipe"});
  CHECK(view.scan("")[3].info->link_target == "b/file");
}

TEST_CASE("context: overlay view scan hides whiteouts", "[context]") {
  Stack stack;
  RootfsView view = stack.view();
  std::vector<std::string> names;
  for (const context::DirectoryEntry& child : view.scan("etc")) names.push_back(child.name);
  CHECK(names == std::vector<std::string>{"hostname"});
  CHECK(view.scan("etc")[0].info->size == 4);  // "top\n" from the top layer
}

TEST_CASE("context: resolve user through passwd and group", "[context]") {
  TempDir dir("ctx-users-");
  test::write(dir / "etc/passwd",
              "root:x:0:0:root:/root:/bin/sh\n"
              "someone:x:1000:1000::/home/someone:/bin/sh\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  test::write(dir / "etc/group",
              "root:x:0:\n"
              "someone:x:1000:\n"
              "audio:x:29:someone,other\n"
              "video:x:44: someone\n"
              "staff:x:50:other\n");
  RootfsView view = RootfsView::plain(dir.path());

  context::UserIds someone = context::resolve_user(view, "someone");
  CHECK(someone.uid == 1000);
  CHECK(someone.gid == 1000);
  CHECK(someone.additional_gids == std::vector<std::uint32_t>{29, 44});
  CHECK(someone.home == "/home/someone");

  context::UserIds by_uid = context::resolve_user(view, "1000");
  CHECK(by_uid.uid == 1000);
  CHECK(by_uid.gid == 1000);
  CHECK(by_uid.home == "/home/someone");

  context::UserIds with_group = context::resolve_user(view, "someone:staff");
  CHECK(with_group.gid == 50);
  CHECK(with_group.additional_gids.empty());

  context::UserIds unknown_uid = context::resolve_user(view, "4242:7");
  CHECK(unknown_uid.uid == 4242);
  CHECK(unknown_uid.gid == 7);
  CHECK(unknown_uid.home == "/");

  CHECK_THROWS_WITH(context::resolve_user(view, "ghost"),
                    "unknown user 'ghost': no such name in /etc/passwd of the image; "
                    "use a numeric uid or create the user in an earlier step");
  CHECK_THROWS_WITH(context::resolve_user(view, "someone:ghosts"), Catch::StartsWith("unknown group 'ghosts'"));
  CHECK_THROWS_WITH(context::resolve_user(view, ":5"), Catch::StartsWith("invalid user ':5'"));
}

TEST_CASE("context: resolve user reads passwd through symlinks", "[context]") {
  TempDir dir("ctx-users-link-");
  test::write(dir / "data/passwd", "app:x:10:20::/srv:/bin/sh\n");
  fs::create_directories(dir / "etc");
  fs::create_symlink("/data/passwd", dir / "etc/passwd");
  CHECK(context::resolve_user(RootfsView::plain(dir.path()), "app").home == "/srv");
}
