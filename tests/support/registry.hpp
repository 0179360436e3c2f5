// SPDX-License-Identifier: Apache-2.0
// A real registry for tests: docker-registry (distribution 2.8) on
// 127.0.0.1:<free port> with filesystem storage in a test directory,
// optionally over HTTPS with a fresh test CA and with htpasswd basic auth.
// Plus tiny busybox images in OCI layout form that skopeo can copy into it.
//
//   TempDir dir;
//   TestRegistry registry(dir.path(), {.tls = true, .username = "alice", .password = "secret"});
//   TestImage image = write_busybox_layout(dir / "layout", "v1");
//   copy_to_registry(registry, dir / "layout", "v1", "demo/busybox:v1");
//   // client side: registry.host(), registry.ca_file()
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/toolkit.hpp"

namespace imgbuild::test {

struct TestRegistryOptions {
  bool tls = false;      // serve HTTPS with a server certificate from a new test CA
  std::string username;  // non-empty: require HTTP basic auth (htpasswd, bcrypt)
  std::string password;
};

class TestRegistry {
 public:
  // Starts the registry with its config, storage, certificates and htpasswd
  // file under `dir`, and waits until it accepts connections. Throws Error
  // when docker-registry, openssl or htpasswd is missing or it does not start.
  explicit TestRegistry(const fs::path& dir, TestRegistryOptions options = {});
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;
  ~TestRegistry();

  int port() const { return port_; }
  std::string host() const;  // "127.0.0.1:<port>"
  bool tls() const { return options_.tls; }
  // The test CA certificate (PEM); empty without TLS.
  const fs::path& ca_file() const { return ca_file_; }
  // A folder holding only ca.crt, the form skopeo's --src/--dest-cert-dir read.
  const fs::path& cert_dir() const { return cert_dir_; }
  fs::path storage_dir() const { return dir_ / "storage"; }
  // Returns the file the registry stores blob `digest` ("sha256:...") in.
  fs::path blob_file(std::string_view digest) const;
  const fs::path& log_file() const { return process_->log_file(); }

  // Returns skopeo flags for using this registry as `side`: "src" or "dest"
  // for `skopeo copy`, "" for `skopeo inspect`. They set the CA folder (or
  // turn TLS verification off for plain HTTP) and, with auth, the creds.
  std::vector<std::string> skopeo_flags(std::string_view side) const;

  // Stops the registry by PID; the destructor does it too.
  void stop();

 private:
  void make_certificates();

  fs::path dir_;
  TestRegistryOptions options_;
  int port_ = 0;
  fs::path ca_file_;
  fs::path cert_dir_;
  std::optional<BackgroundProcess> process_;
};

// Digests of an image written by write_busybox_layout, all "sha256:...".
struct TestImage {
  std::string manifest_digest;  // the manifest (or the index, for several architectures)
  std::string config_digest;
  std::string layer_digest;     // gzip blob
  std::string diff_id;          // uncompressed tar
  std::uint64_t layer_size = 0;
  std::string manifest;         // the manifest bytes (the index for several architectures)
};

struct TestImageOptions {
  // One architecture gives a single manifest; several give an OCI index
  // with one manifest each (same layer, different configs).
  std::vector<std::string> architectures = {"amd64"};
  // Written to /etc/marker in the layer, so different markers give images
  // with different digests.
  std::string marker = "imgbuild test image";
};

// Writes an OCI image layout at `layout` (adding to an existing one) with a
// one-layer image: /bin/busybox, /bin/sh and /etc/marker. tar and gzip make
// the layer with fixed times and owners, so the digests depend only on the
// busybox binary and the marker. The image is named `tag` in index.json.
TestImage write_busybox_layout(const fs::path& layout, std::string_view tag, const TestImageOptions& options = {});

// Copies `tag` from the OCI layout to `registry` as `repository_and_tag`
// ("demo/busybox:v1") with skopeo, keeping digests; copies every
// architecture of an index.
void copy_to_registry(const TestRegistry& registry, const fs::path& layout, std::string_view tag,
                      std::string_view repository_and_tag);

}  // namespace imgbuild::test
