// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "imgbuild/report/sbom.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/fixtures.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::report;
using nlohmann::json;

namespace {

Snapshot sample() {
  Snapshot snapshot;
  snapshot.name = "app:1";
  snapshot.manifest_digest = Digest{std::string(64, 'a')};
  snapshot.os = {"debian", "12", "bookworm"};
  snapshot.packages = {test::deb_package("libc6", "2.36-9+deb12u4", "amd64"), test::deb_package("libstdc++6", "1:12.2.0-14", "amd64"),
                       test::deb_package("tzdata", "2024a-0+deb12u1", "all"), test::python_package("requests", "2.31.0")};
  return snapshot;
}

const SbomOptions options{"0.1.0", 1714564800};

// Installs the validator's npm packages into the build tree once; returns
// the directory, or nothing when npm cannot install them.
std::optional<fs::path> validator_directory(std::string& reason) {
  fs::path directory = fs::read_symlink("/proc/self/exe").parent_path() / "cyclonedx-validator";
  fs::path sources = test::source_dir() / "tests/report/cyclonedx";
  fs::create_directories(directory);
  fs::copy_file(sources / "package.json", directory / "package.json", fs::copy_options::overwrite_existing);
  fs::copy_file(sources / "validate.js", directory / "validate.js", fs::copy_options::overwrite_existing);
  if (fs::exists(directory / "node_modules/@cyclonedx/cyclonedx-library")) return directory;

  if (!find_program("npm")) {
    reason = "npm is not installed";
    return std::nullopt;
  }
  ProcessOptions install;
  install.working_directory = directory;
  ProcessResult result = run_process({"npm", "install", "--no-audit", "--no-fund", "--omit=optional"}, install);
  if (result.exit_code != 0) {
    reason = "npm install failed: " + tail_lines(result.err, 5);
    return std::nullopt;
  }
  return directory;
}

}  // namespace

TEST_CASE("report: package URLs", "[report]") {
  OsRelease os{"debian", "12", "bookworm"};
  CHECK(package_url(test::deb_package("libc6", "2.36-9+deb12u4", "amd64"), os) ==
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
  CHECK(package_url(test::deb_package("libstdc++6", "1:12.2.0-14", "amd64"), os) ==
        "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14?arch=amd64&distro=debian-12");
  CHECK(package_url(test::deb_package("tzdata", "2024a-0", "all"), OsRelease{}) == "pkg:deb/debian/tzdata@2024a-0?arch=all");
  CHECK(package_url(test::python_package("requests-oauthlib", "1.3.1"), os) == "pkg:pypi/requests-oauthlib@1.3.1");
}

TEST_CASE("report: name-based uuid of a digest", "[report]") {
  // Python's uuid.uuid5(uuid.NAMESPACE_URL, "imgbuild:sha256:aaa...") gives the same.
  CHECK(uuid_for_digest(Digest{std::string(64, 'a')}) == "fc00a807-eb29-576a-9db5-77c21127da70");
}

TEST_CASE("report: spdx document has every required field", "[report]") {
  json document = spdx_document(sample(), options);

  CHECK(document["spdxVersion"] == "SPDX-2.3");
  CHECK(document["dataLicense"] == "CC0-1.0");
  CHECK(document["SPDXID"] == "SPDXRef-DOCUMENT");
  CHECK(document["name"] == "app:1");
  CHECK(document["documentNamespace"] ==
        "https://spdx.org/spdxdocs/imgbuild-fc00a807-eb29-576a-9db5-77c21127da70");
  CHECK(document["creationInfo"]["created"] == "2024-05-01T12:00:00Z");
  CHECK(document["creationInfo"]["creators"] == json::array({"Tool: imgbuild-0.1.0"}));

  const json& packages = document["packages"];
  REQUIRE(packages.size() == 5);
  std::regex id_pattern("SPDXRef-[A-Za-z0-9.-]+");
  std::set<std::string> ids;
  for (const json& package : packages) {
    INFO(package.dump());
    std::string id = package["SPDXID"].get<std::string>();
    CHECK(std::regex_match(id, id_pattern));
    CHECK(ids.insert(id).second);
    CHECK_FALSE(package["name"].get<std::string>().empty());
    CHECK_FALSE(package["versionInfo"].get<std::string>().empty());
    CHECK(package["downloadLocation"] == "NOASSERTION");
    CHECK(package["filesAnalyzed"] == false);
    CHECK(package["licenseConcluded"] == "NOASSERTION");
    CHECK(package["licenseDeclared"] == "NOASSERTION");
    CHECK(package["copyrightText"] == "NOASSERTION");
    CHECK(package["supplier"] == "NOASSERTION");
  }
  CHECK(packages[0]["SPDXID"] == "SPDXRef-Image");
  CHECK(packages[2]["SPDXID"] == "SPDXRef-Package-deb-1-libstdc--6");
  CHECK(packages[2]["externalRefs"] ==
        json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                      {"referenceType", "purl"},
                      {"referenceLocator", "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14?arch=amd64&distro=debian-12"}}}));

  const json& relationships = document["relationships"];
  REQUIRE(relationships.size() == 5);
  CHECK(relationships[0] == json{{"spdxElementId", "SPDXRef-DOCUMENT"},
                                 {"relationshipType", "DESCRIBES"},
                                 {"relatedSpdxElement", "SPDXRef-Image"}});
  for (const json& relationship : relationships) {
    CHECK(ids.contains(relationship["relatedSpdxElement"].get<std::string>()));
  }
  CHECK(spdx_document(sample(), options) == document);
}

TEST_CASE("report: cyclonedx bom passes the cyclonedx validator", "[report]") {
  json bom = cyclonedx_document(sample(), options);
  CHECK(bom["serialNumber"] == "urn:uuid:fc00a807-eb29-576a-9db5-77c21127da70");
  CHECK(bom["metadata"]["component"]["version"] == "sha256:" + std::string(64, 'a'));
  REQUIRE(bom["components"].size() == 4);
  CHECK(bom["components"][3] == json{{"type", "library"},
                                     {"bom-ref", "pkg:pypi/requests@2.31.0"},
                                     {"name", "requests"},
                                     {"version", "2.31.0"},
                                     {"purl", "pkg:pypi/requests@2.31.0"}});

  std::string reason;
  std::optional<fs::path> validator = validator_directory(reason);
  if (!validator) {
    WARN("skipped cyclonedx schema validation: " << reason);
    return;
  }
  TempDir dir;
  test::write(dir / "bom.json", bom.dump(2));
  ProcessResult valid = run_process({"node", (*validator / "validate.js").string(), (dir / "bom.json").string()});
  INFO(valid.out << valid.err);
  CHECK(valid.exit_code == 0);

  // The validator must be able to fail: a component without a name is invalid.
  bom["components"][0].erase("name");
  test::write(dir / "broken.json", bom.dump(2));
  ProcessResult invalid = run_process({"node", (*validator / "validate.js").string(), (dir / "broken.json").string()});
  INFO(invalid.out << invalid.err);
  CHECK(invalid.exit_code == 1);
}
