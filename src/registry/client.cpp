// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/registry/client.hpp"

#include <chrono>

#include "client_state.hpp"
#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "manifest.hpp"

namespace imgbuild::registry {

namespace media = image::media_type;

namespace {

std::vector<Digest> diff_ids_of(const nlohmann::json& config, const Digest& config_digest) {
  std::string where = cat("config ", config_digest.str());
  if (!config.contains("rootfs") || !config["rootfs"].is_object() || !config["rootfs"].contains("diff_ids") ||
      !config["rootfs"]["diff_ids"].is_array())
    fail(where, " has no 'rootfs.diff_ids' list");
  std::vector<Digest> diff_ids;
  for (const auto& entry : config["rootfs"]["diff_ids"]) {
    if (!entry.is_string()) fail(where, ": 'rootfs.diff_ids' holds a value that is not a string");
    diff_ids.push_back(with_context(where, [&] { return Digest::parse(entry.get<std::string>()); }));
  }
  return diff_ids;
}

// A single-platform image may be built for another platform. Running it
// fails later, so a warning now points at the cause.
void warn_on_platform_mismatch(const nlohmann::json& config, const image::Platform& platform,
                               const Reference& reference) {
  image::Platform actual{config.value("os", ""), config.value("architecture", ""), config.value("variant", "")};
  if (actual.os == platform.os && actual.architecture == platform.architecture) return;
  log::warn(cat("image ", quote(reference.str()), " is for platform ", quote(platform_text(actual)),
                ", not the requested ", quote(platform_text(platform))));
}

}  // namespace

std::string manifest_accept_header() {
  return cat("Accept: ", media::oci_manifest, ", ", media::oci_index, ", ", media::docker_manifest, ", ",
             media::docker_manifest_list);
}

Client::Client(RegistryOptions options) : state_(std::make_unique<State>(std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const ClientStats& Client::stats() const { return state_->transport.stats(); }

Client::State::State(RegistryOptions options) : transport(std::move(options)) {}

Call Client::State::call(const Reference& reference, std::string method, std::string target, std::string actions) {
  Call call;
  call.method = std::move(method);
  call.host = reference.registry_host();
  call.repository = reference.path;
  call.target = std::move(target);
  call.scopes = {cat("repository:", reference.path, ":", actions)};
  return call;
}

Client::State::Fetched Client::State::fetch_manifest(const Reference& reference, const std::string& name) {
  Call request = call(reference, "GET", cat("/v2/", reference.path, "/manifests/", name), "pull");
  request.headers.push_back(manifest_accept_header());
  http::Response response = transport.send(request);
  std::string url = http::redact_url(transport.url(request.host, request.target));
  std::string image_name = cat(reference.repository(), name.starts_with("sha256:") ? "@" : ":", name);
  if (response.status == 404) fail("image ", quote(image_name), " not found: GET ", url, ": ", describe(response));
  if (response.status != 200) fail("GET ", url, ": ", describe(response));

  Fetched fetched;
  fetched.document = nlohmann::json::parse(response.body, nullptr, false);
  if (fetched.document.is_discarded() || !fetched.document.is_object())
    fail("GET ", url, ": the manifest is not a JSON object");
  fetched.media_type = manifest_media_type(response.header("content-type"), fetched.document);
  bool schema1 = fetched.document.value("schemaVersion", 0) == 1 ||
                 fetched.media_type.starts_with("application/vnd.docker.distribution.manifest.v1+");
  if (schema1)
    fail("image ", quote(image_name), " has a Docker schema 1 manifest, which imgbuild does not support: ",
         "push it again with a current tool");
  if (!is_index_type(fetched.media_type) && !is_manifest_type(fetched.media_type))
    fail("GET ", url, ": unsupported manifest media type ", quote(fetched.media_type));

  fetched.digest = sha256_of(response.body);
  std::string announced = response.header("docker-content-digest");
  if (!announced.empty() && announced != fetched.digest.str())
    fail("GET ", url, ": the registry announced digest ", announced, " but the manifest hashes to ",
         fetched.digest.str());
  fetched.bytes = std::move(response.body);
  return fetched;
}

ResolvedManifest Client::resolve(const Reference& reference, const image::Platform& platform) {
  return with_context(cat("resolving ", quote(reference.str())), [&] {
    State::Fetched top = state_->fetch_manifest(reference, reference.manifest_reference());
    if (reference.digest && top.digest != *reference.digest)
      fail("the registry returned a manifest with digest ", top.digest.str(), " for ", reference.digest->str());

    ResolvedManifest resolved;
    resolved.reference_digest = top.digest;
    if (is_index_type(top.media_type)) {
      std::vector<image::Descriptor> manifests;
      if (!top.document.contains("manifests") || !top.document["manifests"].is_array())
        fail("the index ", top.digest.str(), " has no 'manifests' list");
      for (const auto& entry : top.document["manifests"])
        manifests.push_back(parse_descriptor(entry, cat("index ", top.digest.str())));
      image::Descriptor chosen = select_platform(manifests, platform, reference.str());

      State::Fetched manifest = state_->fetch_manifest(reference, chosen.digest.str());
      if (manifest.digest != chosen.digest)
        fail("the registry returned a manifest with digest ", manifest.digest.str(), " for ", chosen.digest.str());
      if (!is_manifest_type(manifest.media_type))
        fail("the index entry for ", quote(platform_text(platform)), " is not an image manifest but ",
             quote(manifest.media_type));
      top = std::move(manifest);
    }
    resolved.digest = top.digest;
    resolved.media_type = top.media_type;
    resolved.bytes = std::move(top.bytes);
    return resolved;
  });
}

void Client::State::fetch_blob(const Reference& reference, const image::Descriptor& blob, store::Store& store,
                               const ProgressCallback& progress) {
  TransferProgress report{blob.digest, 0, static_cast<std::uint64_t>(blob.size), 0, false};
  if (store.has_blob(blob.digest)) {
    ++transport.stats().blobs_skipped;
    report.bytes = report.total;
    report.done = true;
    if (progress) progress(report);
    return;
  }

  Call request = call(reference, "GET", cat("/v2/", reference.path, "/blobs/", blob.digest.str()), "pull");
  std::string url = http::redact_url(transport.url(request.host, request.target));
  std::optional<store::BlobWriter> writer;
  std::optional<Sha256> hasher;
  RateMeter meter;
  request.on_restart = [&] {
    writer.emplace(store.begin_blob());
    hasher.emplace();
    report.bytes = 0;
    meter = RateMeter{};
  };
  request.on_data = [&](std::string_view chunk) {
    report.bytes += chunk.size();
    if (report.bytes > report.total)
      fail("blob ", blob.digest.str(), " from ", url, " is larger than the ", report.total,
           " bytes its descriptor states");
    writer->write(chunk.data(), chunk.size());
    hasher->update(chunk);
    if (progress && meter.due()) {
      report.bytes_per_second = meter.rate(report.bytes);
      progress(report);
    }
  };

  http::Response response = transport.send(request);
  if (response.status == 404)
    fail("blob ", blob.digest.str(), " not found: GET ", url, ": ", describe(response));
  if (response.status != 200) fail("GET ", url, ": ", describe(response));
  if (report.bytes != report.total)
    fail("blob ", blob.digest.str(), " from ", url, " has ", report.bytes, " bytes but its descriptor states ",
         report.total);
  Digest actual = hasher->finish();
  if (actual != blob.digest)
    fail("blob ", blob.digest.str(), " from ", url, " does not match its digest: the content hashes to ",
         actual.str());
  writer->commit(blob.digest);

  ++transport.stats().blobs_downloaded;
  transport.stats().bytes_downloaded += report.bytes;
  report.done = true;
  report.bytes_per_second = meter.rate(report.bytes);
  if (progress) progress(report);
}

namespace {

// A digest names the same content forever, so how a pinned reference
// resolved for a platform can be remembered in the store: a later pull of
// the same pin then needs the registry only for blobs the store lacks.
fs::path resolution_file(const store::Store& store, const Digest& pinned, const image::Platform& platform) {
  std::string key = cat(pinned.str(), "\n", platform.os, "/", platform.architecture, "/", platform.variant);
  return store.root() / "resolved" / sha256_of(key).hex;
}

std::optional<ResolvedManifest> remembered_resolution(const Reference& reference, const image::Platform& platform,
                                                      const store::Store& store) {
  if (!reference.digest) return std::nullopt;
  try {
    fs::path file = resolution_file(store, *reference.digest, platform);
    std::error_code error;
    if (!fs::exists(file, error)) return std::nullopt;
    Digest manifest = Digest::parse(std::string(trim(read_file(file))));
    if (!store.has_blob(manifest)) return std::nullopt;
    ResolvedManifest resolved;
    resolved.bytes = store.read_blob(manifest);
    resolved.digest = manifest;
    resolved.reference_digest = *reference.digest;
    resolved.media_type = nlohmann::json::parse(resolved.bytes).value("mediaType", std::string(image::media_type::oci_manifest));
    return resolved;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable: ask the registry, which rewrites it
  }
}

void remember_resolution(const Reference& reference, const image::Platform& platform, const store::Store& store,
                         const ResolvedManifest& resolved) {
  if (!reference.digest) return;
  fs::path file = resolution_file(store, *reference.digest, platform);
  fs::create_directories(file.parent_path());
  write_file_atomic(file, resolved.digest.str() + "\n");
}

}  // namespace

image::Image Client::pull_image(const Reference& reference, const image::Platform& platform, store::Store& store,
                                const ProgressCallback& progress) {
  std::optional<ResolvedManifest> remembered = remembered_resolution(reference, platform, store);
  ResolvedManifest resolved = remembered ? std::move(*remembered) : resolve(reference, platform);
  return with_context(cat("pulling ", quote(reference.str())), [&] {
    store.put_bytes(resolved.bytes);
    if (!remembered) remember_resolution(reference, platform, store, resolved);
    nlohmann::json manifest = nlohmann::json::parse(resolved.bytes);
    std::string where = cat("manifest ", resolved.digest.str());
    if (!manifest.contains("config") || !manifest.contains("layers") || !manifest["layers"].is_array())
      fail(where, " has no 'config' or no 'layers' list");
    image::Descriptor config_blob = parse_descriptor(manifest["config"], where + " config");

    state_->fetch_blob(reference, config_blob, store, progress);
    image::Image image;
    image.config = nlohmann::json::parse(store.read_blob(config_blob.digest), nullptr, false);
    if (image.config.is_discarded() || !image.config.is_object())
      fail("config ", config_blob.digest.str(), " is not a JSON object");
    std::vector<Digest> diff_ids = diff_ids_of(image.config, config_blob.digest);
    if (diff_ids.size() != manifest["layers"].size())
      fail(where, " lists ", manifest["layers"].size(), " layers but its config has ", diff_ids.size(),
           " diff_ids");
    warn_on_platform_mismatch(image.config, platform, reference);

    for (std::size_t i = 0; i < diff_ids.size(); ++i) {
      image::Descriptor blob = parse_descriptor(manifest["layers"][i], cat(where, " layer ", i));
      state_->fetch_blob(reference, blob, store, progress);
      image.layers.push_back(image::Layer{blob, diff_ids[i], 0});
    }
    if (manifest.contains("annotations") && manifest["annotations"].is_object())
      for (const auto& [key, value] : manifest["annotations"].items())
        if (value.is_string()) image.annotations[key] = value.get<std::string>();
    image.manifest_digest = resolved.digest;
    image.name = reference.str();
    return image;
  });
}

bool Client::has_blob(const Reference& reference, const Digest& digest) {
  return state_->blob_exists(reference, digest);
}

}  // namespace imgbuild::registry
