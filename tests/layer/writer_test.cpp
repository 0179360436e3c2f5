// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/layer/order.hpp"
#include "imgbuild/layer/scan.hpp"
#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/layer_support.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using layer::Compression;
using layer::EntryType;

namespace {

std::vector<std::string> paths_of(const std::vector<layer::Entry>& entries) {
  std::vector<std::string> paths;
  for (const auto& entry : entries) paths.push_back(entry.path);
  return paths;
}

}  // namespace

TEST_CASE("layer: order puts whiteouts first", "[layer]") {
  std::vector<layer::Entry> entries = {
      file_entry("a/b/zz", "z"), file_entry("a/b/!bang", "!"), layer::whiteout("a/b/old"),
      layer::opaque_marker("a/b"), dir_entry("a/b"), dir_entry("a"), dir_entry("a-c"), file_entry("a-c/x", "x"),
  };
  layer::sort_entries(entries);
  CHECK(paths_of(entries) == std::vector<std::string>{"a", "a/b", "a/b/.wh..wh..opq", "a/b/.wh.old", "a/b/!bang",
                                                      "a/b/zz", "a-c", "a-c/x"});
}

TEST_CASE("layer: path order compares whole components", "[layer]") {
  // Pairs in layer order. Byte order alone would put "a-c" before "a/b"
  // and "usr/lib.d" before "usr/lib/x".
  std::vector<std::pair<std::string, std::string>> ordered = {
      {"a", "a/b"},
      {"a/b", "a-c"},
      {"usr/lib/x", "usr/lib.d"},
      {"usr/lib", "usr/lib/python3/os.py"},
      {"usr/lib/python3/os.py", "usr/lib/python3/os.pyc"},
      {"d/.wh..wh..opq", "d/.wh.a"},
      {"d/.wh.z", "d/a"},
      {"d/a\x7f", "d/a\xff"},
  };
  for (const auto& [first, second] : ordered) {
    INFO(first << " before " << second);
    CHECK(layer::path_before(first, second));
    CHECK_FALSE(layer::path_before(second, first));
    CHECK_FALSE(layer::path_before(first, first));
  }
}

TEST_CASE("layer: invalid entries are rejected", "[layer]") {
  auto reject = [](std::vector<layer::Entry> entries, const std::string& message) {
    INFO(message);
    CHECK_THROWS_WITH(layer::sort_entries(entries), Catch::Contains(message));
  };
  reject({file_entry("/abs", "x")}, "invalid layer entry '/abs'");
  reject({file_entry("a/../b", "x")}, "invalid layer entry 'a/../b': it has an empty, '.' or '..' component");
  reject({file_entry("a//b", "x")}, "invalid layer entry 'a//b'");
  reject({file_entry("x", "1"), file_entry("x", "2")}, "layer entry 'x' appears twice");
  reject({file_entry("f", "1"), file_entry("f/child", "2")}, "its parent 'f' is not a directory in the layer");
  reject({hardlink_entry("h", "missing")}, "hardlink 'h' points to 'missing', which is not in the layer");
  reject({dir_entry(".wh.dir")}, "names starting with '.wh.' are reserved for whiteouts");
}

TEST_CASE("layer: hardlinks all point at the first name", "[layer]") {
  // Ten names for one inode, given as a chain the way a naive walk finds them.
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  std::vector<layer::Entry> entries = {dir_entry("tmp", 01777)};
  entries.push_back(file_entry("tmp/link5", "x\n"));
  std::string previous = "tmp/link5";
  for (int i : {1, 2, 3, 4, 6, 7, 8, 9, 10}) {
    entries.push_back(hardlink_entry(cat("tmp/link", i), previous));
    previous = cat("tmp/link", i);
  }
  entries.push_back(hardlink_entry("tmp/end", "tmp/link3"));

  auto first = write_test_layer(store, entries);
  std::reverse(entries.begin(), entries.end());
  auto second = write_test_layer(store, entries);
  CHECK(first.diff_id == second.diff_id);
  CHECK(first.digest == second.digest);

  std::vector<std::string> expected = {"d tmp 0 1777 0:0 0", "f tmp/end 2 0644 0:0 0"};
  for (const char* name : {"link1", "link10", "link2", "link3", "link4", "link5", "link6", "link7", "link8", "link9"})
    expected.push_back(cat("h tmp/", name, " -> tmp/end 0 0644 0:0 0"));
  CHECK(python_listing(store.blob_path(first.digest)) == expected);
}

TEST_CASE("layer: same tree at later time gives same digest", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  write(temp / "tree/usr/bin/tool", "#!/bin/sh\necho tool\n", 0755);
  write(temp / "tree/etc/config", "key=value\n");
  fs::create_symlink("../etc/config", temp / "tree/usr/config");

  layer::WriteOptions options;
  options.epoch = 1700000000;
  std::vector<layer::LayerResult> results;
  for (std::int64_t mtime : {1700000100, 1800000000}) {
    for (const char* path : {"tree", "tree/usr", "tree/usr/bin", "tree/usr/bin/tool", "tree/etc", "tree/etc/config"}) {
      timespec times[2] = {{mtime, 0}, {mtime, 0}};
      REQUIRE(::utimensat(AT_FDCWD, (temp / path).c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
    }
    for (Compression compression : {Compression::gzip, Compression::zstd, Compression::none}) {
      options.compression = compression;
      for (unsigned threads : {1u, 2u, 5u}) {
        options.threads = threads;
        auto entries = layer::scan_tree(temp / "tree");
        for (auto& entry : entries) entry.uid = entry.gid = 0;
        results.push_back(layer::write_layer(entries, options, store));
      }
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    INFO("result " << i);
    CHECK(results[i].diff_id == results[0].diff_id);
    CHECK(results[i].digest == results[i % 9 / 3 * 3].digest);
    check_blob_with_tools(store.blob_path(results[i].digest));
  }
  CHECK(results[0].diff_id.str() == "sha256:b9de340b8151ccf4ec4dc267af70141b7efdbcf8af374d819504674805d0f43e");
  CHECK(results[0].digest.str() == "sha256:ed32b7e57fe00ce1a9f98d53b64f043ade5c9ce3d38c88becb5cf14bad6d3df2");
  CHECK(results[3].digest.str() == "sha256:a33b7b53210555d71131487580f55c093de5ab68f977a37c453560bcb23b839c");
  CHECK(results[0].media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK(results[3].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  CHECK(results[6].media_type == "application/vnd.oci.image.layer.v1.tar");
  CHECK(results[6].digest == results[6].diff_id);
  CHECK(python_listing(store.blob_path(results[0].digest)) ==
        std::vector<std::string>{"d etc 0 0755 0:0 1700000000", "f etc/config 10 0644 0:0 1700000000",
                                 "d usr 0 0755 0:0 1700000000", "d usr/bin 0 0755 0:0 1700000000",
                                 "f usr/bin/tool 20 0755 0:0 1700000000", "l usr/config -> ../etc/config 0 0777 0:0 1700000000"});

  auto record = store.find_layer(results[0].diff_id);
  REQUIRE(record);
  CHECK(record->blobs.size() == 3);
  CHECK(record->blobs.at("gzip").digest == results[0].digest);
  CHECK(record->blobs.at("zstd").digest == results[3].digest);
  CHECK(record->uncompressed_size == results[0].uncompressed_size);
}

TEST_CASE("layer: long names use pax records", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  std::string name100 = "d/" + std::string(98, 'n');
  std::string deep = "d/" + std::string(101, 'p') + "/" + std::string(120, 'q') + "/" + std::string(90, 'r');
  std::string target = "/" + std::string(200, 't');
  std::string h1 = "h1/" + std::string(180, 'u');
  std::string h2 = "h2/" + std::string(180, 'v');
  auto result = write_test_layer(store, {dir_entry("d"), file_entry(name100, "100"), dir_entry("d/" + std::string(101, 'p')),
                                         dir_entry("d/" + std::string(101, 'p') + "/" + std::string(120, 'q')),
                                         file_entry(deep, "deep"), symlink_entry("s", target), dir_entry("h1"),
                                         dir_entry("h2"), file_entry(h1, "hl"), hardlink_entry(h2, h1)});
  fs::path blob = store.blob_path(result.digest);
  auto listing = python_listing(blob);
  CHECK(listing == std::vector<std::string>{
                       "d d 0 0755 0:0 0", cat("f ", name100, " 3 0644 0:0 0"),
                       cat("d d/", std::string(101, 'p'), " 0 0755 0:0 0"),
                       cat("d d/", std::string(101, 'p'), "/", std::string(120, 'q'), " 0 0755 0:0 0"),
                       cat("f ", deep, " 4 0644 0:0 0"), "d h1 0 0755 0:0 0", cat("f ", h1, " 2 0644 0:0 0"),
                       "d h2 0 0755 0:0 0", cat("h ", h2, " -> ", h1, " 0 0644 0:0 0"),
                       cat("l s -> ", target, " 0 0777 0:0 0")});
  auto pax = python_pax_records(blob);
  CHECK(std::count(pax.begin(), pax.end(), cat(deep, " path=", deep)) == 1);
  CHECK(std::count(pax.begin(), pax.end(), cat("s linkpath=", target)) == 1);
  CHECK(std::count(pax.begin(), pax.end(), cat(h2, " linkpath=", h1)) == 1);

  // GNU tar reads the same names.
  std::string gnu = run_checked({"tar", "-tzf", blob.string()});
  CHECK(gnu.find(deep + "\n") != std::string::npos);
  CHECK(gnu.find(h2 + "\n") != std::string::npos);
}

TEST_CASE("layer: non-UTF-8 names keep their bytes", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  std::string utf8 = "test-\xc3\xa4\xc3\xb6\xc3\xbc.txt";
  std::string latin1 = "caf\xe9";
  std::string newline = "foo\nbar.txt";
  auto result = write_test_layer(store, {file_entry(utf8, "u"), file_entry(latin1, "l"), file_entry(newline, "n")});
  fs::path blob = store.blob_path(result.digest);
  CHECK(python_listing(blob) == std::vector<std::string>{"f caf\\xe9 1 0644 0:0 0", "f foo\\nbar.txt 1 0644 0:0 0",
                                                         "f test-\\xc3\\xa4\\xc3\\xb6\\xc3\\xbc.txt 1 0644 0:0 0"});
  auto pax = python_pax_records(blob);
  CHECK(std::count(pax.begin(), pax.end(), "caf\\xe9 hdrcharset=BINARY") == 1);

  std::vector<std::string> read_back;
  layer::for_each_entry(blob, [&](const layer::Entry& entry, layer::ContentReader&) { read_back.push_back(entry.path); });
  CHECK(read_back == std::vector<std::string>{latin1, newline, utf8});
}

TEST_CASE("layer: xattrs devices and fifos are kept", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto ping = file_entry("bin/ping", "elf", 0755);
  std::string capability("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  ping.xattrs["security.capability"] = capability;
  ping.xattrs["user.note"] = "hello";
  layer::Entry null_device;
  null_device.path = "dev/null";
  null_device.type = EntryType::char_device;
  null_device.mode = 0666;
  null_device.dev_major = 1;
  null_device.dev_minor = 3;
  layer::Entry loop = null_device;
  loop.path = "dev/loop0";
  loop.type = EntryType::block_device;
  loop.dev_major = 7;
  loop.dev_minor = 0;
  layer::Entry pipe;
  pipe.path = "run/pipe";
  pipe.type = EntryType::fifo;
  auto big_ids = file_entry("home/big", "b");
  big_ids.uid = 3000000000u;
  big_ids.gid = 2500000;

  auto result = write_test_layer(store, {dir_entry("bin"), ping, dir_entry("dev"), null_device, loop, dir_entry("run"),
                                         pipe, dir_entry("home"), big_ids});
  fs::path blob = store.blob_path(result.digest);
  CHECK(python_listing(blob) ==
        std::vector<std::string>{"d bin 0 0755 0:0 0", "f bin/ping 3 0755 0:0 0", "d dev 0 0755 0:0 0",
                                 "b dev/loop0 7:0 0 0666 0:0 0", "c dev/null 1:3 0 0666 0:0 0", "d home 0 0755 0:0 0",
                                 "f home/big 1 0644 3000000000:2500000 0", "d run 0 0755 0:0 0", "p run/pipe 0 0644 0:0 0"});
  auto pax = python_pax_records(blob);
  CHECK(std::count(pax.begin(), pax.end(), "bin/ping SCHILY.xattr.user.note=hello") == 1);
  CHECK(std::count_if(pax.begin(), pax.end(), [](const std::string& line) { return starts_with(line, "bin/ping LIBARCHIVE"); }) == 0);

  std::map<std::string, std::string> xattrs;
  layer::for_each_entry(blob, [&](const layer::Entry& entry, layer::ContentReader&) {
    if (entry.path == "bin/ping") xattrs = entry.xattrs;
  });
  CHECK(xattrs.at("security.capability") == capability);
  CHECK(xattrs.at("user.note") == "hello");
}

TEST_CASE("layer: sparse file is written in full", "[layer][slow]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  fs::path sparse = temp / "tree/sparse";
  write(sparse, "");
  fs::resize_file(sparse, 2147483648ull);
  {
    UniqueFd fd = open_file(sparse, O_WRONLY);
    REQUIRE(::pwrite(fd.get(), "MARK", 4, 1073741824) == 4);
  }

  auto started = std::chrono::steady_clock::now();
  auto entries = layer::scan_tree(temp / "tree");
  auto result = write_test_layer(store, entries);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO("seconds: " << seconds);
  CHECK(seconds < 60);
  CHECK(result.size < 10u * 1024 * 1024);
  CHECK(result.uncompressed_size == 512 + 2147483648ull + 1024);  // header, data, end-of-archive blocks

  // The first header has type '0', not GNU sparse 'S', and the full size.
  std::string header = run_checked({"python3", "-c", "import gzip,sys; h=gzip.open(sys.argv[1]).read(512); "
                                    "print(h[0:6].decode(), h[156:157].decode(), int(h[124:136].rstrip(b'\\0 '), 8))",
                                    store.blob_path(result.digest).string()});
  CHECK(header == "sparse 0 2147483648\n");

  std::uint64_t nonzero_offset = 0;
  std::string found;
  layer::for_each_entry(store.blob_path(result.digest), [&](const layer::Entry&, layer::ContentReader& content) {
    std::vector<char> buffer(1 << 20);
    std::uint64_t offset = 0;
    while (std::size_t n = content.read(buffer.data(), buffer.size())) {
      for (std::size_t i = 0; i < n; ++i) {
        if (buffer[i] != 0) {
          if (found.empty()) nonzero_offset = offset + i;
          found += buffer[i];
        }
      }
      offset += n;
    }
  });
  CHECK(found == "MARK");
  CHECK(nonzero_offset == 1073741824ull);
}

namespace {

// About 26 MB of source-like text with some incompressible files, so the
// zstd writer fills many feed buffers and libzstd runs several jobs.
void write_large_tree(const fs::path& root) {
  std::uint64_t state = 1234;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  const char* words[] = {"def ", "class ", "return ", "self", ".value", " = ", "(index)", "\n", "    ", "buffer"};
  for (int file = 0; file < 40; ++file) {
    std::string content;
    std::size_t size = 200'000 + next() % 1'000'000;
    while (content.size() < size) {
      if (file % 8 == 7) {
        content += static_cast<char>(next() & 0xff);
      } else {
        content += words[next() % 10];
      }
    }
    write(root / cat("dir", file % 5) / cat("file", file, ".py"), content);
  }
}

}  // namespace

TEST_CASE("layer: large zstd layer is the same for any thread count", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  write_large_tree(temp / "tree");

  layer::WriteOptions options;
  options.compression = Compression::gzip;
  auto gzip = layer::write_layer(layer::scan_tree(temp / "tree"), options, store);

  options.compression = Compression::zstd;
  std::vector<layer::LayerResult> results;
  for (unsigned threads : {1u, 2u, 5u}) {
    options.threads = threads;
    results.push_back(layer::write_layer(layer::scan_tree(temp / "tree"), options, store));
  }
  REQUIRE(results[0].uncompressed_size > 25'000'000);
  for (const auto& result : results) {
    CHECK(result.digest == results[0].digest);
    CHECK(result.diff_id == gzip.diff_id);
    CHECK(result.uncompressed_size == gzip.uncompressed_size);
  }

  fs::path blob = store.blob_path(results[0].digest);
  check_blob_with_tools(blob);
  CHECK(sha256_of_file(blob) == results[0].digest);
  fs::path tar = temp / "layer.tar";
  run_checked({"zstd", "-q", "-d", blob.string(), "-o", tar.string()});
  CHECK(fs::file_size(tar) == results[0].uncompressed_size);
  CHECK(sha256_of_file(tar) == results[0].diff_id);
}

TEST_CASE("layer: zstd writer reports a file removed mid-write", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  write_large_tree(temp / "tree");
  auto entries = layer::scan_tree(temp / "tree");
  fs::remove(temp / "tree/dir4/file39.py");

  layer::WriteOptions options;
  options.compression = Compression::zstd;
  CHECK_THROWS_WITH(layer::write_layer(entries, options, store), Catch::Contains("dir4/file39.py"));
  CHECK(fs::is_empty(temp / "store/tmp"));
}

TEST_CASE("layer: scan finds hardlinks and skips sockets", "[layer]") {
  TempDir temp;
  write(temp / "tree/b/second", "shared");
  fs::create_directories(temp / "tree/a");
  fs::create_hard_link(temp / "tree/b/second", temp / "tree/a/first");
  fs::create_hard_link(temp / "tree/b/second", temp / "tree/c");
  REQUIRE(::mkfifo((temp / "tree/fifo").c_str(), 0600) == 0);
  run_checked({"python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])",
               (temp / "tree/sock").string()});
  write(temp / "tree/var/log/dpkg.log", "volatile");

  layer::ScanOptions options;
  options.exclude = {"var/log/*.log"};
  auto entries = layer::scan_tree(temp / "tree", options);
  std::vector<std::string> summary;
  for (const auto& entry : entries) {
    summary.push_back(cat(static_cast<int>(entry.type), " ", entry.path, " ", entry.link_target, " ", entry.size));
  }
  CHECK(summary == std::vector<std::string>{"1 a  0", "0 a/first  6", "1 b  0", "3 b/second a/first 0",
                                            "3 c a/first 0", "6 fifo  0", "1 var  0", "1 var/log  0"});
}
