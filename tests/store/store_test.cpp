// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgbuild/store/epoch.hpp"
#include "imgbuild/store/prune.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;

namespace {

std::vector<std::string> names_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(directory)) names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `body` in a child process and returns its exit status.
template <typename Body>
int in_child(Body body) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "child: %s\n", error.what());
      code = 1;
    }
    std::_Exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void set_mtime(const fs::path& path, std::int64_t seconds) {
  timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("store: blobs are verified on read", "[store]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  Digest digest = store.put_bytes("hello\n");
  CHECK(digest.str() == "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  CHECK(store.blob_path(digest) == temp / "store/blobs/sha256/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  CHECK(store.read_blob(digest) == "hello\n");
  CHECK_NOTHROW(store.verify_blob(digest));
  CHECK(names_in(store.tmp_dir()).empty());

  write(store.blob_path(digest), "hellO\n");
  std::string expected = cat("blob ", digest.str(), " at ", store.blob_path(digest), " is corrupt");
  CHECK_THROWS_WITH(store.read_blob(digest), Catch::StartsWith(expected));
  CHECK_THROWS_WITH(store.verify_blob(digest), Catch::StartsWith(expected));

  Digest missing = sha256_of("missing");
  CHECK_THROWS_WITH(store.verify_blob(missing), Catch::StartsWith(cat("blob ", missing.str(), " not found at ")));

  auto writer = store.begin_blob();
  writer.write("abc", 3);
  CHECK_THROWS_WITH(writer.commit(missing), Catch::Contains("but " + missing.str() + " was expected"));
  CHECK(!store.has_blob(sha256_of("abc")));
  CHECK(names_in(store.tmp_dir()).empty());
}

TEST_CASE("store: killed writer leaves no partial blob", "[store]") {
  TempDir temp;
  { auto store = store::Store::open(temp / "store"); }
  int status = in_child([&] {
    auto store = store::Store::open(temp / "store");
    auto writer = store.begin_blob();
    writer.write("partial", 7);
    ::raise(SIGKILL);
  });
  CHECK(WIFSIGNALED(status));
  CHECK(names_in(temp / "store/blobs/sha256").empty());
  CHECK(names_in(temp / "store/tmp").size() == 1);

  // A temporary of this live process stays; the dead child's goes.
  write(temp / "store/tmp" / cat(::getpid(), ".99.blob"), "mine");
  auto store = store::Store::open(temp / "store");
  CHECK(names_in(store.tmp_dir()) == std::vector<std::string>{cat(::getpid(), ".99.blob")});
}

TEST_CASE("store: other version is moved aside", "[store]") {
  TempDir temp;
  fs::create_directories(temp / "store/blobs");
  write(temp / "store/VERSION", "0\n");
  write(temp / "store/blobs/old", "old layout");
  auto store = store::Store::open(temp / "store");
  CHECK(read_file(temp / "store/VERSION") == "1\n");
  CHECK(!fs::exists(temp / "store/blobs/old"));
  auto names = names_in(temp.path());
  REQUIRE(names.size() == 2);
  CHECK(names[0] == "store");
  CHECK(starts_with(names[1], "store.v0."));
  CHECK(read_file(temp / names[1] / "blobs/old") == "old layout");
}

TEST_CASE("store: two processes write in parallel", "[store]") {
  TempDir temp;
  { auto store = store::Store::open(temp / "store"); }
  Digest diff_id = sha256_of("layer");

  auto writer = [&](const std::string& name) {
    auto store = store::Store::open(temp / "store");
    for (int i = 0; i < 150; ++i) {
      store.put_bytes(cat("shared blob ", i));
      store.put_bytes(cat(name, " blob ", i));
      store::CacheEntry entry;
      entry.components = {{"writer", name}, {"i", i}};
      entry.created = i;
      store.put_cache(cat("key-", i % 10), entry);
      store::LayerRecord record{diff_id, 100, {}};
      record.blobs[cat(name, i % 3)] = {sha256_of(cat(name, i)), 10, "application/vnd.oci.image.layer.v1.tar"};
      store.put_layer(record);
    }
  };
  pid_t first = ::fork();
  if (first == 0) {
    try {
      writer("gzip");
    } catch (...) {
      std::_Exit(1);
    }
    std::_Exit(0);
  }
  int status = in_child([&] { writer("zstd"); });
  int first_status = 0;
  ::waitpid(first, &first_status, 0);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(WEXITSTATUS(first_status) == 0);

  auto store = store::Store::open(temp / "store");
  auto blobs = names_in(temp / "store/blobs/sha256");
  CHECK(blobs.size() == 450);
  for (const auto& hex : blobs) CHECK_NOTHROW(store.verify_blob(Digest{hex}));
  for (int i = 0; i < 10; ++i) {
    auto entry = store.find_cache(cat("key-", i));
    REQUIRE(entry);
    CHECK(entry->components.at("i").get<int>() % 10 == i);
  }
  auto record = store.find_layer(diff_id);
  REQUIRE(record);
  CHECK(record->blobs.size() == 6);  // gzip0..2 and zstd0..2: no writer lost the other's
  CHECK(names_in(store.tmp_dir()).empty());
}

TEST_CASE("store: prune keeps what records reference", "[store]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  const std::int64_t now = 2000000000;
  const std::int64_t day = 86400;

  auto add_layer = [&](const std::string& content) {
    Digest blob = store.put_bytes(content);
    Digest diff_id = sha256_of("tar of " + content);
    store.put_layer({diff_id, 100, {{"gzip", {blob, content.size(), "application/vnd.oci.image.layer.v1.tar+gzip"}}}});
    fs::create_directories(store.unpacked_dir(diff_id));
    write(store.unpacked_dir(diff_id) / "file", std::string(1000, 'u'));
    return std::pair{diff_id, blob};
  };
  auto [recorded_diff, recorded_blob] = add_layer(std::string(5000, 'r'));
  auto [fresh_diff, fresh_blob] = add_layer(std::string(3000, 'f'));
  auto [stale_diff, stale_blob] = add_layer(std::string(4000, 's'));
  Digest config = store.put_bytes("{\"config\": true}");
  Digest orphan = store.put_bytes("orphan");

  fs::create_directories(store.records_dir() / "app/default");
  write(store.records_dir() / "app/default/1.json",
        nlohmann::json{{"blobs", {recorded_blob.str(), config.str()}}, {"other", stale_blob.str()}}.dump());
  auto put_cache = [&](const std::string& key, const Digest& diff_id, std::int64_t used) {
    store.put_cache(key, {{{"parent", "x"}}, diff_id, nullptr, used});
    set_mtime(store.cache_dir() / (sha256_of(key).hex + ".json"), used);
  };
  put_cache("fresh", fresh_diff, now - day);
  put_cache("stale", stale_diff, now - 10 * day);

  SECTION("by age") {
    store::PruneOptions options;
    options.max_age = store::parse_duration("7d");
    options.now = now;
    auto result = store::prune(store, options);
    CHECK(result.cache_entries == 1);
    CHECK(result.blobs == 2);  // stale layer blob and the orphan
    CHECK(result.layers == 1);
    CHECK(result.unpacked == 1);
    CHECK(result.freed_bytes == 4000 + 6 + 1000);
    CHECK(store.find_cache("fresh"));
    CHECK(!store.find_cache("stale"));
    CHECK(!store.has_blob(stale_blob));
    CHECK(!store.has_blob(orphan));
    CHECK(!fs::exists(store.unpacked_dir(stale_diff)));
    CHECK(!store.find_layer(stale_diff));
  }
  SECTION("by size") {
    store::PruneOptions options;
    options.keep_storage = store::parse_byte_size("7kB");
    options.now = now;
    auto result = store::prune(store, options);
    // The record alone needs 5000 + 16 + 1000 bytes, so every cache entry goes.
    CHECK(result.cache_entries == 2);
    CHECK(result.kept_bytes == 5000 + 16 + 1000);
    CHECK(!store.has_blob(fresh_blob));
  }
  CHECK(store.has_blob(recorded_blob));
  CHECK(store.has_blob(config));
  CHECK(fs::exists(store.unpacked_dir(recorded_diff)));
  CHECK(store.find_layer(recorded_diff));
}

TEST_CASE("store: prune waits for running builds", "[store]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto build = store::Store::open(temp / "store");  // holds the shared lock like a running build
  CHECK_THROWS_WITH(store::prune(store, {}), Catch::Contains("is in use by a running build; retry when it finishes"));
  { auto done = std::move(build); }
  CHECK_NOTHROW(store::prune(store, {}));
}

TEST_CASE("store: build epoch sources", "[store]") {
  {
    ScopedEnv env("SOURCE_DATE_EPOCH", nullptr);
    CHECK(store::build_epoch(std::nullopt) == 0);
    CHECK(store::build_epoch(1700000000) == 1700000000);
  }
  {
    ScopedEnv env("SOURCE_DATE_EPOCH", "1234567890");
    CHECK(store::build_epoch(1700000000) == 1234567890);
  }
  {
    ScopedEnv env("SOURCE_DATE_EPOCH", "253402300799");
    CHECK(store::build_epoch(std::nullopt) == 253402300799);
  }
  for (const char* bad : {"yesterday", "-5", "12.5", "99999999999999999999", "253402300800", "9223372036854775807"}) {
    INFO("SOURCE_DATE_EPOCH=" << bad);
    ScopedEnv env("SOURCE_DATE_EPOCH", bad);
    CHECK_THROWS_WITH(store::build_epoch(std::nullopt),
                      cat("invalid SOURCE_DATE_EPOCH '", bad, "': expected an integer from 0 to 253402300799 "
                          "(9999-12-31T23:59:59Z), in seconds since 1970-01-01 UTC"));
    try {
      store::build_epoch(std::nullopt);
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::usage);
    }
  }
}

TEST_CASE("store: durations and sizes parse", "[store]") {
  CHECK(store::parse_duration("90s").count() == 90);
  CHECK(store::parse_duration("1h30m").count() == 5400);
  CHECK(store::parse_duration("2w").count() == 1209600);
  CHECK(store::parse_byte_size("800MB") == 800000000);
  CHECK(store::parse_byte_size("2GiB") == 2147483648ull);
  CHECK(store::parse_byte_size("512") == 512);
  CHECK_THROWS_WITH(store::parse_duration("7 days"), Catch::StartsWith("invalid duration '7 days'"));
  CHECK_THROWS_WITH(store::parse_byte_size("lots"), Catch::StartsWith("invalid size 'lots'"));
}
