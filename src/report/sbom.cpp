// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/sbom.hpp"

#include <openssl/evp.h>

#include <cstdio>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/time.hpp"

namespace imgbuild::report {

using nlohmann::json;

namespace {

// Percent-encodes everything but RFC 3986 unreserved characters. The purl
// specification requires this for names, versions and qualifier values.
std::string percent_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

// The digest SBOM identifiers derive from: the manifest, else the config,
// else the layer diff_ids (an image not yet written has no manifest).
Digest identity_digest(const Snapshot& snapshot) {
  if (snapshot.manifest_digest) return *snapshot.manifest_digest;
  if (snapshot.config_digest) return *snapshot.config_digest;
  std::string layers;
  for (const LayerSummary& layer : snapshot.layers) layers += layer.diff_id.str() + "\n";
  return sha256_of(layers);
}

std::string image_name(const Snapshot& snapshot) {
  return snapshot.name.empty() ? "image" : snapshot.name;
}

}  // namespace

std::string package_url(const Package& package, const OsRelease& os) {
  std::string version = package.version.empty() ? "" : "@" + percent_encode(package.version);
  if (package.ecosystem == Ecosystem::python) return "pkg:pypi/" + percent_encode(package.name) + version;

  std::string url = "pkg:deb/debian/" + percent_encode(package.name) + version;
  std::string separator = "?";
  if (!package.architecture.empty()) {
    url += separator + "arch=" + percent_encode(package.architecture);
    separator = "&";
  }
  if (!os.id.empty() && !os.version_id.empty()) url += separator + "distro=" + percent_encode(os.id + "-" + os.version_id);
  return url;
}

std::string uuid_for_digest(const Digest& digest) {
  // RFC 4122 URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
  const unsigned char url_namespace[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                           0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  std::string input(reinterpret_cast<const char*>(url_namespace), sizeof url_namespace);
  input += "imgbuild:" + digest.str();

  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), hash, &length, EVP_sha1(), nullptr) != 1 || length < 16)
    fail("cannot compute a SHA-1 digest with OpenSSL for the document identifier");
  hash[6] = static_cast<unsigned char>((hash[6] & 0x0f) | 0x50);  // version 5
  hash[8] = static_cast<unsigned char>((hash[8] & 0x3f) | 0x80);  // RFC 4122 variant

  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    char buffer[3];
    std::snprintf(buffer, sizeof buffer, "%02x", hash[i]);
    out += buffer;
  }
  return out;
}

namespace {

// SPDX identifiers allow only letters, digits, '.' and '-'.
std::string spdx_id(std::size_t index, const Package& package) {
  std::string id = cat("SPDXRef-Package-", ecosystem_name(package.ecosystem), "-", index, "-");
  for (unsigned char c : package.name) id += std::isalnum(c) || c == '.' || c == '-' ? static_cast<char>(c) : '-';
  return id;
}

json spdx_package(const std::string& id, const std::string& name, const std::string& version) {
  return {{"SPDXID", id},
          {"name", name},
          {"versionInfo", version},
          {"downloadLocation", "NOASSERTION"},
          {"filesAnalyzed", false},
          {"licenseConcluded", "NOASSERTION"},
          {"licenseDeclared", "NOASSERTION"},
          {"copyrightText", "NOASSERTION"},
          {"supplier", "NOASSERTION"}};
}

json relationship(const std::string& from, const char* type, const std::string& to) {
  return {{"spdxElementId", from}, {"relationshipType", type}, {"relatedSpdxElement", to}};
}

}  // namespace

json spdx_document(const Snapshot& snapshot, const SbomOptions& options) {
  Digest digest = identity_digest(snapshot);
  std::string name = image_name(snapshot);

  json image = spdx_package("SPDXRef-Image", name, digest.str());
  image["primaryPackagePurpose"] = "CONTAINER";
  json packages = json::array({image});
  json relationships = json::array({relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image")});
  for (std::size_t i = 0; i < snapshot.packages.size(); ++i) {
    const Package& package = snapshot.packages[i];
    std::string id = spdx_id(i, package);
    json entry = spdx_package(id, package.name, package.version);
    entry["externalRefs"] = json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                          {"referenceType", "purl"},
                                          {"referenceLocator", package_url(package, snapshot.os)}}});
    packages.push_back(entry);
    relationships.push_back(relationship("SPDXRef-Image", "CONTAINS", id));
  }

  return {{"spdxVersion", "SPDX-2.3"},
          {"dataLicense", "CC0-1.0"},
          {"SPDXID", "SPDXRef-DOCUMENT"},
          {"name", name},
          {"documentNamespace", "https://spdx.org/spdxdocs/imgbuild-" + uuid_for_digest(digest)},
          {"creationInfo",
           {{"created", detail::format_rfc3339(options.created)},
            {"creators", json::array({"Tool: imgbuild-" + options.tool_version})}}},
          {"packages", packages},
          {"relationships", relationships}};
}

json cyclonedx_document(const Snapshot& snapshot, const SbomOptions& options) {
  Digest digest = identity_digest(snapshot);
  json components = json::array();
  for (const Package& package : snapshot.packages) {
    std::string purl = package_url(package, snapshot.os);
    components.push_back({{"type", "library"},
                          {"bom-ref", purl},
                          {"name", package.name},
                          {"version", package.version},
                          {"purl", purl}});
  }

  json tool = {{"type", "application"}, {"name", "imgbuild"}, {"version", options.tool_version}};
  json image = {{"type", "container"}, {"bom-ref", "image"}, {"name", image_name(snapshot)}, {"version", digest.str()}};
  return {{"bomFormat", "CycloneDX"},
          {"specVersion", "1.5"},
          {"serialNumber", "urn:uuid:" + uuid_for_digest(digest)},
          {"version", 1},
          {"metadata",
           {{"timestamp", detail::format_rfc3339(options.created)},
            {"tools", {{"components", json::array({tool})}}},
            {"component", image}}},
          {"components", components}};
}

}  // namespace imgbuild::report
