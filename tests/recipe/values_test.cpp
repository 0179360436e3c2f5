// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/recipe/values.hpp"

namespace recipe = imgbuild::recipe;

namespace {

template <typename Parse>
std::string error_of(Parse&& parse) {
  try {
    parse();
  } catch (const imgbuild::Error& error) {
    CHECK(error.code() == imgbuild::ExitCode::usage);
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("recipe: durations", "[recipe]") {
  CHECK(recipe::parse_duration("30s") == 30'000'000'000);
  CHECK(recipe::parse_duration("1m30s") == 90'000'000'000);
  CHECK(recipe::parse_duration("500ms") == 500'000'000);
  CHECK(recipe::parse_duration("1.5h") == 5'400'000'000'000);
  CHECK(recipe::parse_duration("0s") == 0);
  CHECK(recipe::parse_duration("250us") == 250'000);
  CHECK(recipe::parse_duration("7ns") == 7);
  CHECK(error_of([] { recipe::parse_duration("30"); }) == "invalid duration '30': a number needs a unit: ns, us, ms, s, m or h");
  CHECK(error_of([] { recipe::parse_duration("5d"); }) == "invalid duration '5d': unknown unit 'd'; use ns, us, ms, s, m or h");
  CHECK(error_of([] { recipe::parse_duration(""); }) ==
        "invalid duration '': it is empty; write a number with a unit: 500ms, 30s, 1m30s");
  CHECK(error_of([] { recipe::parse_duration("-1s"); }) ==
        "invalid duration '-1s': expected a number; write a number with a unit: 500ms, 30s, 1m30s");
  CHECK(error_of([] { recipe::parse_duration("1..2s"); }) ==
        "invalid duration '1..2s': expected a number; write a number with a unit: 500ms, 30s, 1m30s");
}

TEST_CASE("recipe: sizes", "[recipe]") {
  CHECK(recipe::parse_size("150MB") == 150'000'000u);
  CHECK(recipe::parse_size("400 MB") == 400'000'000u);
  CHECK(recipe::parse_size("12B") == 12u);
  CHECK(recipe::parse_size("2kB") == 2000u);
  CHECK(recipe::parse_size("1GB") == 1'000'000'000u);
  CHECK(recipe::parse_size("1KiB") == 1024u);
  CHECK(recipe::parse_size("1.5MiB") == 1572864u);
  CHECK(recipe::parse_size("2GiB") == 2147483648u);
  CHECK(error_of([] { recipe::parse_size("150"); }) ==
        "invalid size '150': a number needs a unit: B, kB, MB, GB, TB, KiB, MiB, GiB or TiB");
  CHECK(error_of([] { recipe::parse_size("150mb"); }) ==
        "invalid size '150mb': unknown unit 'mb'; use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB");
  CHECK(error_of([] { recipe::parse_size("MB"); }) == "invalid size 'MB': expected a number and a unit, such as 150MB or 1.5GiB");
}

TEST_CASE("recipe: ports", "[recipe]") {
  CHECK(recipe::parse_port("8000") == std::vector<std::string>{"8000/tcp"});
  CHECK(recipe::parse_port("53/udp") == std::vector<std::string>{"53/udp"});
  CHECK(recipe::parse_port("9000-9002/sctp") == std::vector<std::string>{"9000/sctp", "9001/sctp", "9002/sctp"});
  CHECK(error_of([] { recipe::parse_port("0"); }) == "invalid port '0': ports are 1 to 65535");
  CHECK(error_of([] { recipe::parse_port("80-70"); }) == "invalid port '80-70': the range ends before it starts");
  CHECK(error_of([] { recipe::parse_port("http"); }) ==
        "invalid port 'http': expected PORT[/PROTOCOL] or FIRST-LAST[/PROTOCOL], such as 8000/tcp");
  CHECK(error_of([] { recipe::parse_port("80/icmp"); }) == "invalid port '80/icmp': unknown protocol 'icmp'; use tcp, udp or sctp");
}

TEST_CASE("recipe: modes", "[recipe]") {
  CHECK(recipe::parse_mode("0644") == 0644u);
  CHECK(recipe::parse_mode("755") == 0755u);
  CHECK(recipe::parse_mode("4755") == 04755u);
  CHECK(recipe::parse_mode("2775") == 02775u);
  CHECK(recipe::parse_mode("07777") == 07777u);
  CHECK(recipe::parse_mode("0") == 0u);
  CHECK(error_of([] { recipe::parse_mode("17777"); }) == "invalid mode '17777': the largest mode is 07777");
  CHECK(error_of([] { recipe::parse_mode("0648"); }) == "invalid mode '0648': expected octal digits 0-7, such as \"0644\"");
  CHECK(error_of([] { recipe::parse_mode("007777"); }) ==
        "invalid mode '007777': expected 1 to 5 octal digits up to 07777, such as \"0644\"");
  CHECK(error_of([] { recipe::parse_mode("u+x"); }) == "invalid mode 'u+x': expected octal digits 0-7, such as \"0644\"");
}

TEST_CASE("recipe: owners", "[recipe]") {
  recipe::Owner numeric = recipe::parse_owner("1000:1000");
  CHECK(numeric.user == "1000");
  CHECK(numeric.group == "1000");
  recipe::Owner name = recipe::parse_owner("app");
  CHECK(name.user == "app");
  CHECK_FALSE(name.group);
  recipe::Owner both = recipe::parse_owner("www-data:adm");
  CHECK(both.user == "www-data");
  CHECK(both.group == "adm");
  CHECK(recipe::parse_owner("machine$").user == "machine$");
  CHECK(error_of([] { recipe::parse_owner(":1000"); }) ==
        "invalid owner ':1000': the user is empty; write \"uid:gid\", \"name\" or \"name:group\"");
  CHECK(error_of([] { recipe::parse_owner("a b"); }) == "invalid owner 'a b': the user 'a b' is neither a number nor a valid name");
  CHECK(error_of([] { recipe::parse_owner("-x"); }) == "invalid owner '-x': the user '-x' is neither a number nor a valid name");
  CHECK(error_of([] { recipe::parse_owner("1:4294967295"); }) == "invalid owner '1:4294967295': the group id is larger than 4294967294");
  CHECK(error_of([] { recipe::parse_owner("1:2:3"); }) == "invalid owner '1:2:3': the group '2:3' is neither a number nor a valid name");
}

TEST_CASE("recipe: image references", "[recipe]") {
  recipe::ImageReference debian = recipe::parse_image_reference("debian:bookworm");
  CHECK(debian.domain == "docker.io");
  CHECK(debian.path == "library/debian");
  CHECK(debian.tag == "bookworm");
  CHECK(debian.to_string() == "docker.io/library/debian:bookworm");

  recipe::ImageReference local = recipe::parse_image_reference("localhost:5000/team/app");
  CHECK(local.domain == "localhost:5000");
  CHECK(local.path == "team/app");
  CHECK_FALSE(local.tag);
  CHECK(local.to_string() == "localhost:5000/team/app:latest");

  std::string digest = "sha256:" + std::string(64, 'a');
  recipe::ImageReference pinned = recipe::parse_image_reference("ghcr.io/o/app:1.0@" + digest);
  CHECK(pinned.domain == "ghcr.io");
  CHECK(pinned.tag == "1.0");
  CHECK(pinned.digest == digest);
  CHECK(recipe::parse_image_reference("localhost/backend").name() == "localhost/backend");
  CHECK(recipe::parse_image_reference("team/a__b.c-d").path == "team/a__b.c-d");

  CHECK(error_of([] { recipe::parse_image_reference("Debian"); }) ==
        "invalid image reference 'Debian': the name component 'Debian' must be lower-case letters and digits, separated by '.', '_', '__' or '-'");
  CHECK(error_of([] { recipe::parse_image_reference("app@sha256:abc"); }) ==
        "invalid image reference 'app@sha256:abc': the digest 'sha256:abc' is not ALGORITHM:HEX, such as sha256:<64 hex digits>");
  CHECK(error_of([] { recipe::parse_image_reference("a//b"); }) ==
        "invalid image reference 'a//b': the name component '' must be lower-case letters and digits, separated by '.', '_', '__' or '-'");
  CHECK(error_of([] { recipe::parse_image_reference(""); }) == "invalid image reference '': it is empty");
  CHECK(error_of([] { recipe::parse_image_reference("-x.io/app"); }) ==
        "invalid image reference '-x.io/app': the registry '-x.io' is not a valid host name[:port]");
}

TEST_CASE("recipe: tag or reference check", "[recipe]") {
  for (const char* valid : {"1.0", "latest", "_x", "localhost/app:1.0", "app:1", "registry.example:5000/team/app",
                            "localhost/app"}) {
    INFO("tag " << valid);
    CHECK(error_of([&] { recipe::check_tag_or_reference(valid); }) == "no error");
  }

  const std::string tag_rule =
      "a tag is up to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'";
  const std::string hint = "; write a tag such as '1.0' or a reference such as 'localhost/app:1.0'";
  CHECK(error_of([] { recipe::check_tag_or_reference(""); }) == "invalid tag '': " + tag_rule);
  CHECK(error_of([] { recipe::check_tag_or_reference("-x"); }) == "invalid tag '-x': " + tag_rule);
  CHECK(error_of([] { recipe::check_tag_or_reference("a b"); }) == "invalid tag 'a b': " + tag_rule);
  CHECK(error_of([] { recipe::check_tag_or_reference("bad:tag:x"); }) ==
        "invalid image reference 'bad:tag:x': the name component 'bad:tag' must be lower-case letters and digits, "
        "separated by '.', '_', '__' or '-'" + hint);
  CHECK(error_of([] { recipe::check_tag_or_reference(":x"); }) ==
        "invalid image reference ':x': the name before the tag or digest is empty" + hint);
  CHECK(error_of([] { recipe::check_tag_or_reference("app:-x"); }) ==
        "invalid image reference 'app:-x': invalid tag '-x': " + tag_rule + hint);
  std::string pinned = "localhost/app@sha256:" + std::string(64, 'a');
  CHECK(error_of([&] { recipe::check_tag_or_reference(pinned); }) ==
        "invalid tag '" + pinned + "': a tag cannot carry a digest" + hint);
}

TEST_CASE("recipe: outputs", "[recipe]") {
  recipe::Output layout = recipe::parse_output("oci:out/app:1.0", "/work");
  CHECK(layout.transport == recipe::Output::Transport::oci);
  CHECK(layout.destination == "/work/out/app");
  CHECK(layout.tag == "1.0");
  recipe::Output untagged = recipe::parse_output("oci:/abs/dir", "/work");
  CHECK(untagged.destination == "/abs/dir");
  CHECK_FALSE(untagged.tag);
  CHECK(recipe::parse_output("oci-archive:a.tar", "/w").transport == recipe::Output::Transport::oci_archive);
  CHECK(recipe::parse_output("docker-archive:b.tar", "/w").destination == "/w/b.tar");
  recipe::Output push = recipe::parse_output("docker://localhost:5000/app:1", "/w");
  CHECK(push.transport == recipe::Output::Transport::docker);
  CHECK(push.destination == "localhost:5000/app:1");
  CHECK(error_of([] { recipe::parse_output("tar:x", "/w"); }) ==
        "invalid output 'tar:x': expected oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REF");
  CHECK(error_of([] { recipe::parse_output("oci-archive:", "/w"); }) == "invalid output 'oci-archive:': the path is empty");
}

TEST_CASE("recipe: platforms, formats and signals", "[recipe]") {
  CHECK(recipe::parse_platform("linux/amd64") == std::vector<std::string>{"linux", "amd64"});
  CHECK(recipe::parse_platform("linux/arm64/v8") == std::vector<std::string>{"linux", "arm64", "v8"});
  CHECK(error_of([] { recipe::parse_platform("amd64"); }) ==
        "invalid platform 'amd64': expected OS/ARCH or OS/ARCH/VARIANT in lower case, such as linux/amd64 or linux/arm64/v8");
  CHECK(recipe::parse_image_format("docker") == recipe::ImageFormat::docker);
  CHECK(recipe::parse_compression("zstd") == recipe::Compression::zstd);
  CHECK(recipe::parse_network("none") == recipe::Network::none);
  CHECK(error_of([] { recipe::parse_network("bridge"); }) == "invalid network 'bridge': use host or none");
  CHECK_NOTHROW(recipe::check_signal("SIGTERM"));
  CHECK_NOTHROW(recipe::check_signal("INT"));
  CHECK_NOTHROW(recipe::check_signal("9"));
  CHECK_NOTHROW(recipe::check_signal("SIGRTMIN+3"));
  CHECK(error_of([] { recipe::check_signal("65"); }) == "invalid stop signal '65': signal numbers are 1 to 64");
}
