// SPDX-License-Identifier: Apache-2.0
#include "support/registry.hpp"

#include <nlohmann/json.hpp>

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::test {
namespace {

void require_program(std::string_view program, std::string_view package) {
  if (!find_program(program))
    fail(program, " not found: install ", package, " (scripts/install-deps.sh does)");
}

std::string registry_config(const fs::path& dir, int port, const TestRegistryOptions& options) {
  std::string config = cat("version: 0.1\n"
                           "log:\n  level: info\n"
                           "storage:\n  filesystem:\n    rootdirectory: ", (dir / "storage").string(), "\n"
                           "  delete:\n    enabled: true\n"
                           "http:\n  addr: 127.0.0.1:", port, "\n");
  if (options.tls)
    config += cat("  tls:\n    certificate: ", (dir / "server.crt").string(), "\n    key: ",
                  (dir / "server.key").string(), "\n");
  if (!options.username.empty())
    config += cat("auth:\n  htpasswd:\n    realm: imgbuild-test\n    path: ", (dir / "htpasswd").string(), "\n");
  return config;
}

std::string digest_of_file(const fs::path& path) { return sha256_of_file(path).str(); }

// Stores `content` as a blob of the layout and returns its digest.
std::string put_blob(const fs::path& layout, std::string_view content) {
  Digest digest = sha256_of(content);
  write(layout / "blobs/sha256" / digest.hex, content);
  return digest.str();
}

nlohmann::json descriptor(std::string_view media_type, const std::string& digest, std::uint64_t size) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

// Builds the gzip layer in the layout and fills in its digests.
void write_layer(const fs::path& layout, const TestImageOptions& options, TestImage& image) {
  TempDir work("imgbuild-test-layer-");
  fs::path root = work / "root";
  fs::create_directories(root / "bin");
  fs::copy_file("/usr/bin/busybox", root / "bin/busybox");
  fs::create_symlink("busybox", root / "bin/sh");
  write(root / "etc/marker", options.marker + "\n");

  fs::path tar = work / "layer.tar";
  run_checked({"tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C",
               root.string(), "-cf", tar.string(), "bin", "etc"});
  run_checked({"gzip", "-n", "-6", "-k", tar.string()});
  image.diff_id = digest_of_file(tar);
  image.layer_digest = digest_of_file(tar.string() + ".gz");
  image.layer_size = fs::file_size(tar.string() + ".gz");
  fs::create_directories(layout / "blobs/sha256");
  fs::copy_file(tar.string() + ".gz", layout / "blobs/sha256" / Digest::parse(image.layer_digest).hex,
                fs::copy_options::overwrite_existing);
}

// Writes config and manifest for one architecture; returns the manifest descriptor.
nlohmann::json write_manifest(const fs::path& layout, const std::string& architecture, TestImage& image) {
  nlohmann::json config = {
      {"architecture", architecture},
      {"os", "linux"},
      {"config", {{"Cmd", {"/bin/sh"}}, {"Env", {"PATH=/bin"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {image.diff_id}}}},
      {"history", {{{"created_by", "imgbuild test layer"}}}},
  };
  std::string config_bytes = config.dump();
  image.config_digest = put_blob(layout, config_bytes);

  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", descriptor("application/vnd.oci.image.config.v1+json", image.config_digest, config_bytes.size())},
      {"layers", {descriptor("application/vnd.oci.image.layer.v1.tar+gzip", image.layer_digest, image.layer_size)}},
  };
  image.manifest = manifest.dump();
  image.manifest_digest = put_blob(layout, image.manifest);
  nlohmann::json entry = descriptor("application/vnd.oci.image.manifest.v1+json", image.manifest_digest,
                                    image.manifest.size());
  entry["platform"] = {{"architecture", architecture}, {"os", "linux"}};
  return entry;
}

void add_to_index(const fs::path& layout, nlohmann::json entry, std::string_view tag) {
  nlohmann::json index = {{"schemaVersion", 2}, {"manifests", nlohmann::json::array()}};
  if (fs::exists(layout / "index.json")) index = nlohmann::json::parse(read_file(layout / "index.json"));
  auto& manifests = index["manifests"];
  for (auto it = manifests.begin(); it != manifests.end();) {
    bool same_tag = it->contains("annotations") && (*it)["annotations"].value("org.opencontainers.image.ref.name", "") == tag;
    it = same_tag ? manifests.erase(it) : it + 1;
  }
  entry["annotations"] = {{"org.opencontainers.image.ref.name", tag}};
  manifests.push_back(entry);
  write(layout / "index.json", index.dump());
  write(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

}  // namespace

TestRegistry::TestRegistry(const fs::path& dir, TestRegistryOptions options)
    : dir_(dir), options_(std::move(options)) {
  require_program("docker-registry", "docker-registry");
  fs::create_directories(dir_ / "storage");
  if (options_.tls) make_certificates();
  if (!options_.username.empty()) {
    require_program("htpasswd", "apache2-utils");
    write(dir_ / "htpasswd", run_checked({"htpasswd", "-Bbn", options_.username, options_.password}));
  }

  port_ = free_port();
  write(dir_ / "config.yml", registry_config(dir_, port_, options_));
  process_.emplace(std::vector<std::string>{"docker-registry", "serve", (dir_ / "config.yml").string()},
                   dir_ / "registry.log");
  if (!wait_for_port(port_, 15))
    fail("docker-registry did not listen on port ", port_, " within 15 s; see ", (dir_ / "registry.log").string());
}

TestRegistry::~TestRegistry() { stop(); }

void TestRegistry::stop() {
  if (process_) process_->stop();
}

std::string TestRegistry::host() const { return cat("127.0.0.1:", port_); }

fs::path TestRegistry::blob_file(std::string_view digest) const {
  std::string hex = Digest::parse(digest).hex;
  return storage_dir() / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

std::vector<std::string> TestRegistry::skopeo_flags(std::string_view side) const {
  std::string prefix = side.empty() ? std::string("--") : cat("--", side, "-");
  std::vector<std::string> flags;
  if (options_.tls)
    flags.push_back(cat(prefix, "cert-dir=", cert_dir_.string()));
  else
    flags.push_back(cat(prefix, "tls-verify=false"));
  if (!options_.username.empty())
    flags.push_back(cat(prefix, "creds=", options_.username, ":", options_.password));
  return flags;
}

void TestRegistry::make_certificates() {
  require_program("openssl", "openssl");
  std::string ca_key = (dir_ / "ca.key").string();
  std::string server_key = (dir_ / "server.key").string();
  ca_file_ = dir_ / "ca.crt";
  cert_dir_ = dir_ / "certs";
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

  std::vector<std::string> ca = {"openssl", "req", "-x509", "-days", "2", "-subj", "/CN=imgbuild test CA",
                                 "-keyout", ca_key, "-out", ca_file_.string()};
  ca.insert(ca.begin() + 2, ec_key.begin(), ec_key.end());
  run_checked(ca);

  std::vector<std::string> request = {"openssl", "req", "-subj", "/CN=127.0.0.1", "-keyout", server_key,
                                      "-out", (dir_ / "server.csr").string()};
  request.insert(request.begin() + 2, ec_key.begin(), ec_key.end());
  run_checked(request);

  write(dir_ / "server.ext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  run_checked({"openssl", "x509", "-req", "-days", "2", "-in", (dir_ / "server.csr").string(), "-CA",
               ca_file_.string(), "-CAkey", ca_key, "-CAcreateserial", "-extfile", (dir_ / "server.ext").string(),
               "-out", (dir_ / "server.crt").string()});
  fs::create_directories(cert_dir_);
  fs::copy_file(ca_file_, cert_dir_ / "ca.crt", fs::copy_options::overwrite_existing);
}

TestImage write_busybox_layout(const fs::path& layout, std::string_view tag, const TestImageOptions& options) {
  if (options.architectures.empty()) fail("write_busybox_layout: no architecture given");
  TestImage image;
  write_layer(layout, options, image);
  if (options.architectures.size() == 1) {
    add_to_index(layout, write_manifest(layout, options.architectures.front(), image), tag);
    return image;
  }

  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests", nlohmann::json::array()}};
  for (const auto& architecture : options.architectures)
    index["manifests"].push_back(write_manifest(layout, architecture, image));
  // config_digest and manifest describe the last architecture until here.
  image.manifest = index.dump();
  image.manifest_digest = put_blob(layout, image.manifest);
  add_to_index(layout, descriptor("application/vnd.oci.image.index.v1+json", image.manifest_digest, image.manifest.size()),
               tag);
  return image;
}

void copy_to_registry(const TestRegistry& registry, const fs::path& layout, std::string_view tag,
                      std::string_view repository_and_tag) {
  require_program("skopeo", "skopeo");
  std::vector<std::string> argv = {"skopeo", "copy", "--all", "--preserve-digests", "--quiet"};
  for (auto& flag : registry.skopeo_flags("dest")) argv.push_back(flag);
  argv.push_back(cat("oci:", layout.string(), ":", tag));
  argv.push_back(cat("docker://", registry.host(), "/", repository_and_tag));
  run_checked(argv);
}

}  // namespace imgbuild::test
