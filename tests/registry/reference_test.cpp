// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "imgbuild/registry/reference.hpp"
#include "imgbuild/util/error.hpp"

using imgbuild::Error;
using imgbuild::registry::Reference;

namespace {

const std::string hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string error_of(std::string_view text) {
  try {
    Reference::parse(text);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("registry: reference normalization", "[registry]") {
  struct Case {
    std::string text, str, domain, path, tag, host;
  };
  const std::vector<Case> cases = {
      {"debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "latest", "registry-1.docker.io"},
      {"debian:bookworm", "docker.io/library/debian:bookworm", "docker.io", "library/debian", "bookworm",
       "registry-1.docker.io"},
      {"team/app:1.2", "docker.io/team/app:1.2", "docker.io", "team/app", "1.2", "registry-1.docker.io"},
      {"index.docker.io/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "latest",
       "registry-1.docker.io"},
      {"quay.io/team/app", "quay.io/team/app:latest", "quay.io", "team/app", "latest", "quay.io"},
      {"localhost/app:dev", "localhost/app:dev", "localhost", "app", "dev", "localhost"},
      {"127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000", "a/b/c", "v1", "127.0.0.1:5000"},
      {"registry:5000/app", "registry:5000/app:latest", "registry:5000", "app", "latest", "registry:5000"},
      {"my-registry.example/x__y/a.b-c---d", "my-registry.example/x__y/a.b-c---d:latest", "my-registry.example",
       "x__y/a.b-c---d", "latest", "my-registry.example"},
  };
  for (const auto& test : cases) {
    INFO(test.text);
    Reference reference = Reference::parse(test.text);
    CHECK(reference.str() == test.str);
    CHECK(reference.domain == test.domain);
    CHECK(reference.path == test.path);
    CHECK(reference.tag == test.tag);
    CHECK(reference.registry_host() == test.host);
    CHECK(reference.repository() == test.domain + "/" + test.path);
    CHECK_FALSE(reference.digest);
  }
}

TEST_CASE("registry: reference with digest", "[registry]") {
  Reference by_digest = Reference::parse("debian@sha256:" + hex);
  CHECK(by_digest.tag.empty());
  REQUIRE(by_digest.digest);
  CHECK(by_digest.digest->hex == hex);
  CHECK(by_digest.str() == "docker.io/library/debian@sha256:" + hex);
  CHECK(by_digest.manifest_reference() == "sha256:" + hex);

  Reference both = Reference::parse("127.0.0.1:5000/app:v1@sha256:" + hex);
  CHECK(both.tag == "v1");
  CHECK(both.str() == "127.0.0.1:5000/app:v1@sha256:" + hex);
  CHECK(both.manifest_reference() == "sha256:" + hex);

  Reference pinned = Reference::parse("debian:bookworm").with_digest(imgbuild::Digest{hex});
  CHECK(pinned.str() == "docker.io/library/debian:bookworm@sha256:" + hex);
}

TEST_CASE("registry: reference errors", "[registry]") {
  CHECK(error_of("") == "invalid image reference '': the reference is empty");
  CHECK(error_of("Debian") == "invalid image reference 'Debian': repository name must be lower-case");
  CHECK(error_of("debian:") ==
        "invalid image reference 'debian:': invalid tag '': use up to 128 letters, digits, '_', '.' or '-', "
        "not starting with '.' or '-'");
  CHECK(error_of("debian:-x") ==
        "invalid image reference 'debian:-x': invalid tag '-x': use up to 128 letters, digits, '_', '.' or '-', "
        "not starting with '.' or '-'");
  CHECK(error_of("debian@sha256:abc") ==
        "invalid image reference 'debian@sha256:abc': invalid digest 'sha256:abc': expected 'sha256:' followed "
        "by 64 lower-case hex digits");
  CHECK(error_of("team//app") == "invalid image reference 'team//app': empty path component");
  CHECK(error_of("team/-app") ==
        "invalid image reference 'team/-app': path component '-app' must start and end with a letter or digit");
  CHECK(error_of("team/a..b") == "invalid image reference 'team/a..b': invalid separator '..' in path component 'a..b'");
  CHECK(error_of("host:port/app") == "invalid image reference 'host:port/app': invalid port in registry 'host:port'");
  CHECK(error_of("bad_host.io/app") == "invalid image reference 'bad_host.io/app': invalid registry host 'bad_host.io'");
  CHECK(error_of(":v1") == "invalid image reference ':v1': the repository name is missing");
  CHECK(error_of("quay.io/" + std::string(250, 'a')) ==
        "invalid image reference 'quay.io/" + std::string(250, 'a') +
            "': the repository name is longer than 255 characters");
}
