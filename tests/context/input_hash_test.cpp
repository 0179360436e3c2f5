// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <thread>

#include "context/support.hpp"
#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/stat_cache.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using context::CopyPlan;
using context::CopyRequest;

namespace {

CopyPlan plan(const fs::path& dir, CopyRequest request, std::shared_ptr<context::StatCache> cache = {}) {
  auto tree = context::open_directory_context(dir, std::nullopt, std::move(cache));
  test::FakeImage image;
  return context::plan_copy(request, *tree, image.query());
}

CopyRequest copy(std::string source, std::string destination, std::optional<std::uint32_t> mode = {}) {
  CopyRequest request;
  request.sources = {std::move(source)};
  request.destination = std::move(destination);
  request.mode = mode;
  return request;
}

void set_mtime(const fs::path& path, std::int64_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// Longer than the coarse kernel clock tick, so a rewrite changes ctime.
void wait_a_tick() { std::this_thread::sleep_for(std::chrono::milliseconds(30)); }

}  // namespace

TEST_CASE("context: ignored file changes keep the key", "[context]") {
  TempDir dir("ctx-br14-");
  test::write(dir / "files/a.txt", "hi\n");
  test::write(dir / "files/b.txt", "bye\n");
  test::write(dir / ".dockerignore", "files/a.txt\n");

  CopyPlan first = plan(dir.path(), copy("files", "/files"));
  test::write(dir / "files/a.txt", "changed\n");
  CopyPlan second = plan(dir.path(), copy("files", "/files"));

  CHECK(test::file_paths(second) == std::vector<std::string>{"files/b.txt"});
  CHECK(second.input_hash == first.input_hash);
}

TEST_CASE("context: source mode counts only without chmod", "[context]") {
  TempDir dir("ctx-br16-");
  test::write(dir / "foo", "x\n", 0644);

  CopyPlan forced_before = plan(dir.path(), copy("foo", "/foo", 0644));
  CopyPlan kept_before = plan(dir.path(), copy("foo", "/foo"));
  fs::permissions(dir / "foo", fs::perms(0755));
  CopyPlan forced_after = plan(dir.path(), copy("foo", "/foo", 0644));
  CopyPlan kept_after = plan(dir.path(), copy("foo", "/foo"));

  CHECK(forced_after.input_hash == forced_before.input_hash);
  CHECK(test::listing(forced_after) == std::vector<std::string>{"f 0644 0:0 2 foo"});
  CHECK(kept_after.input_hash != kept_before.input_hash);
  CHECK(test::listing(kept_after) == std::vector<std::string>{"f 0755 0:0 2 foo"});
}

TEST_CASE("context: input hash ignores mtime and folder", "[context]") {
  TempDir dir("ctx-hash-folder-");
  test::write(dir / "one/src/main.c", "int main(){}\n");
  fs::create_symlink("main.c", dir / "one/src/link.c");
  CopyPlan original = plan(dir / "one", copy(".", "/src/"));

  set_mtime(dir / "one/src/main.c", 1000);
  CHECK(plan(dir / "one", copy(".", "/src/")).input_hash == original.input_hash);

  fs::create_directories(dir / "elsewhere");
  fs::copy(dir / "one", dir / "elsewhere/two", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  CHECK(plan(dir / "elsewhere/two", copy(".", "/src/")).input_hash == original.input_hash);

  fs::remove(dir / "one/src/link.c");
  fs::create_symlink("other.c", dir / "one/src/link.c");
  CHECK(plan(dir / "one", copy(".", "/src/")).input_hash != original.input_hash);
}

TEST_CASE("context: input hash covers path and owner", "[context]") {
  TempDir dir("ctx-hash-fields-");
  test::write(dir / "a", "same");
  test::write(dir / "b", "same");
  Digest a = plan(dir.path(), copy("a", "/x")).input_hash;
  CHECK(plan(dir.path(), copy("b", "/x")).input_hash != a);  // the source path counts
  CHECK(plan(dir.path(), copy("a", "/y")).input_hash != a);

  CopyRequest owned = copy("a", "/x");
  owned.owner = context::Owner{1, 1};
  CHECK(plan(dir.path(), owned).input_hash != a);
}

TEST_CASE("context: stat cache catches same-size rewrites", "[context]") {
  TempDir dir("ctx-statcache-");
  test::write(dir / "ctx/data.bin", "aaaa");
  test::write(dir / "ctx/other.bin", "zzzz");
  set_mtime(dir / "ctx/data.bin", 5000);
  fs::path cache_dir = dir / "statcache";

  Digest first;
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    first = plan(dir / "ctx", copy(".", "/d/"), cache).input_hash;
    CHECK(cache->misses() == 2);
    cache->save();
  }
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    CHECK(cache->size() == 2);
    CHECK(plan(dir / "ctx", copy(".", "/d/"), cache).input_hash == first);
    CHECK(cache->hits() == 2);
    CHECK(cache->misses() == 0);
  }

  wait_a_tick();
  test::write(dir / "ctx/data.bin", "aaab");
  set_mtime(dir / "ctx/data.bin", 5000);
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    CHECK(plan(dir / "ctx", copy(".", "/d/"), cache).input_hash != first);
    CHECK(cache->misses() == 1);
    cache->save();
  }

  wait_a_tick();
  test::write(dir / "ctx/data.bin", "aaaa");
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    CHECK(plan(dir / "ctx", copy(".", "/d/"), cache).input_hash == first);  // a touch alone keeps the key
  }
}

TEST_CASE("context: stat cache distrusts fresh files", "[context]") {
  TempDir dir("ctx-statcache-racy-");
  test::write(dir / "ctx/new.txt", "n");
  auto cache = std::make_shared<context::StatCache>(dir / "statcache");
  plan(dir / "ctx", copy(".", "/d/"), cache);
  plan(dir / "ctx", copy(".", "/d/"), cache);
  CHECK(cache->hits() == 0);
  CHECK(cache->misses() == 2);
}

TEST_CASE("context: stat cache survives a truncated file", "[context]") {
  TempDir dir("ctx-statcache-bad-");
  test::write(dir / "statcache/stat-cache.bin", "imgbuild-statcache 4\n\x05");
  context::StatCache cache(dir / "statcache");
  CHECK(cache.size() == 0);
  test::write(dir / "statcache/stat-cache.bin", "something else");
  CHECK(context::StatCache(dir / "statcache").size() == 0);
}

TEST_CASE("context: stat cache drops damaged files whole", "[context]") {
  TempDir dir("ctx-statcache-damaged-");
  test::write(dir / "ctx/a.bin", "first file");
  test::write(dir / "ctx/b.bin", "second file");
  fs::path cache_dir = dir / "statcache";
  fs::path cache_file = cache_dir / "stat-cache.bin";
  Digest expected;
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    expected = plan(dir / "ctx", copy(".", "/d/"), cache).input_hash;
    cache->save();
  }
  const std::string good = read_file(cache_file);
  REQUIRE(context::StatCache(cache_dir, 0).size() == 2);

  // Each record stores the raw SHA-256 of its file. Changing one bit there
  // would give a wrong key if the record were read.
  std::string digest_hex = sha256_of("first file").hex;
  std::string digest_bytes;
  for (std::size_t i = 0; i < digest_hex.size(); i += 2)
    digest_bytes.push_back(static_cast<char>(std::stoi(digest_hex.substr(i, 2), nullptr, 16)));
  std::size_t digest_at = good.find(digest_bytes);
  REQUIRE(digest_at != std::string::npos);
  std::string wrong_digest = good;
  wrong_digest[digest_at] = static_cast<char>(wrong_digest[digest_at] ^ 1);
  std::string old_version = good;
  old_version.replace(0, std::string_view("imgbuild-statcache 4").size(), "imgbuild-statcache 3");

  const std::map<std::string, std::string> damaged = {
      {"changed digest", wrong_digest},
      {"cut short", good.substr(0, good.size() - 3)},
      {"trailing byte", good + "x"},
      {"header only", "imgbuild-statcache 4\n"},
      {"version 3", old_version},
  };
  for (const auto& [name, bytes] : damaged) {
    INFO(name);
    test::write(cache_file, bytes);
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    CHECK(cache->size() == 0);
    CHECK(plan(dir / "ctx", copy(".", "/d/"), cache).input_hash == expected);
    CHECK(cache->misses() == 2);
    cache->save();
    CHECK(context::StatCache(cache_dir, 0).size() == 2);
  }
}

TEST_CASE("context: stat cache rewrites a damaged file unchanged", "[context]") {
  TempDir dir("ctx-statcache-rewrite-");
  fs::path cache_file = dir / "statcache/stat-cache.bin";
  test::write(cache_file, "imgbuild-statcache 4\ngarbage");
  context::StatCache cache(dir / "statcache");
  cache.save();
  std::string rewritten = read_file(cache_file);
  CHECK(rewritten.starts_with("imgbuild-statcache 4\n"));
  CHECK(rewritten.find("garbage") == std::string::npos);
  CHECK(context::StatCache(dir / "statcache").size() == 0);
}

TEST_CASE("context: stat cache keeps records of two builds", "[context]") {
  TempDir dir("ctx-statcache-shared-");
  test::write(dir / "one/a.txt", "a");
  test::write(dir / "one/b.txt", "b");
  test::write(dir / "two/c.txt", "c");
  test::write(dir / "two/d.txt", "d");
  test::write(dir / "two/e.txt", "e");
  fs::path cache_dir = dir / "statcache";

  // Both load before either saves, as two builds sharing a store would.
  auto first = std::make_shared<context::StatCache>(cache_dir, 0);
  auto second = std::make_shared<context::StatCache>(cache_dir, 0);
  Digest one = plan(dir / "one", copy(".", "/d/"), first).input_hash;
  Digest two = plan(dir / "two", copy(".", "/d/"), second).input_hash;
  first->save();
  second->save();

  auto merged = std::make_shared<context::StatCache>(cache_dir, 0);
  CHECK(merged->size() == 5);
  CHECK(plan(dir / "one", copy(".", "/d/"), merged).input_hash == one);
  CHECK(plan(dir / "two", copy(".", "/d/"), merged).input_hash == two);
  CHECK(merged->hits() == 5);
  CHECK(merged->misses() == 0);
}

TEST_CASE("context: stat cache finds many records", "[context]") {
  TempDir dir("ctx-statcache-many-");
  for (int i = 0; i < 300; ++i)
    test::write(dir / "ctx" / std::to_string(i % 7) / std::to_string(i), std::string(i % 13, 'x'));
  fs::path cache_dir = dir / "statcache";
  Digest cold;
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    cold = plan(dir / "ctx", copy(".", "/d/"), cache).input_hash;
    CHECK(cache->misses() == 300);
    cache->save();
  }
  auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
  CHECK(cache->size() == 300);
  CHECK(plan(dir / "ctx", copy(".", "/d/"), cache).input_hash == cold);
  CHECK(cache->hits() == 300);
  CHECK(cache->misses() == 0);
}

TEST_CASE("context: stat cache keeps xattrs of hits", "[context]") {
  TempDir dir("ctx-statcache-xattr-");
  test::write(dir / "ctx/tool", "binary");
  REQUIRE(::setxattr((dir / "ctx/tool").c_str(), "user.origin", "build", 5, 0) == 0);
  fs::path cache_dir = dir / "statcache";
  {
    auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
    plan(dir / "ctx", copy(".", "/d/"), cache);
    cache->save();
  }
  auto cache = std::make_shared<context::StatCache>(cache_dir, 0);
  CopyPlan warm = plan(dir / "ctx", copy(".", "/d/"), cache);
  CHECK(cache->hits() == 1);
  REQUIRE(warm.entries.size() == 2);
  CHECK(warm.entries[1].path == "d/tool");
  CHECK(warm.entries[1].xattrs == std::map<std::string, std::string>{{"user.origin", "build"}});
}

TEST_CASE("context: parallel hashing matches sha256", "[context]") {
  TempDir dir("ctx-parallel-");
  for (int i = 0; i < 200; ++i) test::write(dir / "f" / std::to_string(i), std::string(i * 97, static_cast<char>('a' + i % 26)));
  CopyPlan result = plan(dir.path(), copy("f", "/f/"));
  REQUIRE(result.entries.size() == 201);
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    if (result.entries[i].type != layer::EntryType::regular) continue;
    CHECK(result.content_digests[i] == sha256_of_file(result.entries[i].source).str());
  }
}
