// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;

TEST_CASE("util: strings nearest suggests a close key", "[util]") {
  std::vector<std::string> keys = {"env", "run", "copy", "workdir", "user"};
  CHECK(nearest("enviroment", keys) == std::optional<std::string>("env"));
  CHECK(nearest("wokdir", keys) == std::optional<std::string>("workdir"));
  CHECK_FALSE(nearest("zzzzzz", keys).has_value());
}

TEST_CASE("util: strings quote escapes control bytes", "[util]") {
  CHECK(quote("a\nb") == "'a\\x0ab'");
  CHECK(quote("caf\xe9") == "'caf\\xe9'");
}

TEST_CASE("util: strings human sizes", "[util]") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1500) == "1.5 kB");
  CHECK(human_bytes(123456789) == "123 MB");
  CHECK(human_delta(-2500) == "-2.5 kB");
  CHECK(human_delta(0) == "0 B");
}

TEST_CASE("util: digest sha256 of known input", "[util]") {
  CHECK(sha256_of("").str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_of("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("util: digest parse rejects other algorithms", "[util]") {
  CHECK_THROWS_WITH(Digest::parse("md5:abc"),
                    "invalid digest 'md5:abc': expected 'sha256:' followed by 64 lower-case hex digits");
  CHECK(Digest::parse("sha256:" + std::string(64, 'a')).hex == std::string(64, 'a'));
}

TEST_CASE("util: process captures output and exit code", "[util]") {
  auto result = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(result.exit_code == 3);
  CHECK(result.out == "out\n");
  CHECK(result.err == "err\n");
  CHECK_THROWS_WITH(run_checked({"sh", "-c", "echo boom >&2; exit 1"}),
                    Catch::Contains("exit code 1") && Catch::Contains("boom"));
}

TEST_CASE("util: fs atomic write leaves no temporary file", "[util]") {
  TempDir dir;
  write_file_atomic(dir / "file", "data");
  CHECK(read_file(dir / "file") == "data");
  CHECK(test::list_tree(dir.path()) == std::vector<std::string>{cat("f 0644 ", ::getuid(), ":", ::getgid(), " 4 file")});
}

TEST_CASE("util: toolkit busybox rootfs runs sh", "[util]") {
  TempDir dir;
  test::make_busybox_rootfs(dir.path());
  CHECK(fs::exists(dir / "bin/sh"));
  CHECK(run_process({(dir / "bin/busybox").string(), "sh", "-c", "echo hi"}).out == "hi\n");
}

TEST_CASE("util: utf8_sequence_length", "[util]") {
  CHECK(utf8_sequence_length("a", 0) == 1);
  CHECK(utf8_sequence_length(std::string_view("\0", 1), 0) == 1);
  CHECK(utf8_sequence_length("x\xc3\xa4", 1) == 2);
  CHECK(utf8_sequence_length("\xe2\x82\xac", 0) == 3);
  CHECK(utf8_sequence_length("\xf0\x9f\x98\x80", 0) == 4);
  CHECK(utf8_sequence_length("\xc3\xa4", 1) == 0);      // a continuation byte
  CHECK(utf8_sequence_length("\xff", 0) == 0);
  CHECK(utf8_sequence_length("\xc0\xaf", 0) == 0);      // overlong '/'
  CHECK(utf8_sequence_length("\xed\xa0\x80", 0) == 0);  // a UTF-16 surrogate
  CHECK(utf8_sequence_length("\xe2\x82", 0) == 0);      // cut short
  CHECK(utf8_sequence_length("\xf4\x90\x80\x80", 0) == 0);  // above U+10FFFF
}

TEST_CASE("util: utf8_or_escaped keeps UTF-8 and escapes raw bytes", "[util]") {
  CHECK(utf8_or_escaped("test-\xc3\xa4\xc3\xb6\xc3\xbc.txt") == "test-\xc3\xa4\xc3\xb6\xc3\xbc.txt");
  CHECK(utf8_or_escaped("foo\nbar") == "foo\nbar");
  CHECK(utf8_or_escaped("back\\slash") == "back\\slash");  // valid UTF-8: left alone
  CHECK(utf8_or_escaped("caf\xe9") == "caf\\xe9");
  CHECK(utf8_or_escaped("caf\xe9\\x") == "caf\\xe9\\\\x");  // once escaping, '\' is escaped too
  CHECK(utf8_or_escaped("\xc0\xaf") == "\\xc0\\xaf");        // overlong '/'
  CHECK(utf8_or_escaped("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  CHECK(utf8_or_escaped("\xe2\x82") == "\\xe2\\x82");        // cut short
}
