// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/registry/reference.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::registry {

// Transport settings for one registry host.
struct HostOptions {
  // PEM file with the CA certificates trusted for this host. It replaces the
  // system bundle for requests to this host.
  std::filesystem::path ca_file;
  // Skips TLS verification and, when the host does not speak TLS, uses plain
  // HTTP. Applies to this host only; loopback hosts need it too.
  bool insecure = false;
};

struct RegistryOptions {
  // Keyed by registry host as in Reference::registry_host(): "quay.io",
  // "127.0.0.1:5000".
  std::map<std::string, HostOptions> hosts;
  // Reads credentials only from this file (docker config or containers
  // auth.json format) instead of searching the usual places.
  std::optional<std::filesystem::path> auth_file;
  // Attempts per request for 429, 502, 503, 504 and dropped connections.
  int max_attempts = 4;
  // Wait before the first retry; it doubles for each further retry.
  std::chrono::milliseconds retry_delay{500};
  // Blobs of at least this many bytes are uploaded in chunks of `chunk_size`.
  std::uint64_t chunk_threshold = 64u << 20;
  std::uint64_t chunk_size = 16u << 20;
};

// A manifest fetched for one platform.
struct ResolvedManifest {
  Digest digest;            // sha256 of `bytes`
  std::string media_type;   // OCI or Docker image manifest type
  std::string bytes;        // exactly as served
  // The digest of the document the reference names: the index or manifest
  // list when there is one, else equal to `digest`. Lock files pin it.
  Digest reference_digest;
};

// Progress of one blob transfer. Callers draw it; the client only reports.
struct TransferProgress {
  Digest digest;
  std::uint64_t bytes = 0;   // transferred so far
  std::uint64_t total = 0;   // blob size from its descriptor
  double bytes_per_second = 0;
  bool done = false;         // the blob is complete (or was already present)
};
using ProgressCallback = std::function<void(const TransferProgress&)>;

struct PushRequest {
  Reference reference;                    // repository, and the first tag or a digest
  std::vector<std::string> tags;          // further tags in the same repository
  std::string manifest;                   // bytes to push, unchanged
  std::string manifest_media_type;
  image::Descriptor config;
  std::vector<image::Descriptor> layers;
  // A repository on the same registry that may hold the blobs already; they
  // are mounted from it instead of uploaded. Ignored for another registry.
  std::optional<Reference> mount_from;
};

struct PushResult {
  Digest manifest_digest;
  std::vector<std::string> references;  // every reference pushed, normalized
};

// Counters over the client's lifetime, for progress summaries and tests.
struct ClientStats {
  std::uint64_t requests = 0;          // HTTP exchanges, including retries and token fetches
  std::uint64_t retries = 0;
  std::uint64_t blobs_downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t blobs_uploaded = 0;
  std::uint64_t bytes_uploaded = 0;
  std::uint64_t blobs_skipped = 0;     // present already, found by HEAD or in the store
  std::uint64_t blobs_mounted = 0;
};

// A client for registries speaking the OCI distribution API. It caches bearer
// tokens and connections, so reuse one per build. Not thread-safe.
class Client {
 public:
  explicit Client(RegistryOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Fetches the manifest `reference` names; an index or Docker manifest list
  // is resolved to the manifest for `platform`. Schema 1 manifests are
  // rejected.
  ResolvedManifest resolve(const Reference& reference, const image::Platform& platform);

  // Resolves `reference` and fetches its config and layers into `store`
  // (blobs the store has are skipped), each verified against its digest while
  // it streams. Layer diff_ids come from the config, unverified: the unpacker
  // checks them. The manifest is stored too.
  image::Image pull_image(const Reference& reference, const image::Platform& platform, store::Store& store,
                          const ProgressCallback& progress = {});

  // Uploads the request's blobs from `store` (skipping those the registry
  // has, mounting where possible), then the manifest under the reference and
  // every tag. Checks the registry's Docker-Content-Digest for each manifest.
  PushResult push(store::Store& store, const PushRequest& request, const ProgressCallback& progress = {});

  // Returns true when the repository of `reference` contains blob `digest`.
  bool has_blob(const Reference& reference, const Digest& digest);

  const ClientStats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The Accept header value for manifests: OCI and Docker (v2 schema 2)
// manifests and indexes, never schema 1.
std::string manifest_accept_header();

}  // namespace imgbuild::registry
