// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sys/stat.h>

#include "client_state.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {
namespace {

std::string with_digest_parameter(const std::string& location, const Digest& digest) {
  char separator = location.find('?') == std::string::npos ? '?' : '&';
  return cat(location, separator, "digest=", http::escape(digest.str()));
}

// Returns the number of bytes the registry stored, from a "Range: 0-<last>"
// header.
std::uint64_t range_end(const http::Response& response, std::string_view url) {
  std::string range = response.header("range");
  if (range.starts_with("bytes=")) range = range.substr(6);
  auto dash = range.find('-');
  if (dash == std::string::npos || range.substr(dash + 1).empty() ||
      range.find_first_not_of("0123456789", dash + 1) != std::string::npos)
    fail("PATCH ", url, ": the registry sent no valid Range header (", quote(range), ")");
  return std::stoull(range.substr(dash + 1)) + 1;
}

std::string upload_location(const http::Response& response, std::string_view method, std::string_view url) {
  std::string location = response.header("location");
  if (location.empty()) fail(method, " ", url, ": ", response.status_line(), " without a Location header");
  return location;
}

void check_content_digest(const http::Response& response, const Digest& expected, std::string_view what) {
  std::string announced = response.header("docker-content-digest");
  if (!announced.empty() && announced != expected.str())
    fail(what, ": the registry stored digest ", announced, " but the content hashes to ", expected.str());
}

}  // namespace

bool Client::State::blob_exists(const Reference& reference, const Digest& digest) {
  Call request = call(reference, "HEAD", cat("/v2/", reference.path, "/blobs/", digest.str()), "pull");
  http::Response response = transport.send(request);
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  fail("HEAD ", http::redact_url(transport.url(request.host, request.target)), ": ", describe(response));
}

void Client::State::push_blob(const Reference& reference, const image::Descriptor& blob, store::Store& store,
                              const std::optional<Reference>& mount_from, const ProgressCallback& progress) {
  TransferProgress report{blob.digest, 0, static_cast<std::uint64_t>(blob.size), 0, false};
  auto finish = [&] {
    report.bytes = report.total;
    report.done = true;
    if (progress) progress(report);
  };
  if (blob_exists(reference, blob.digest)) {
    ++transport.stats().blobs_skipped;
    return finish();
  }
  if (!store.has_blob(blob.digest)) fail("blob ", blob.digest.str(), " is not in the store at ", store.root());

  std::string uploads = cat("/v2/", reference.path, "/blobs/uploads/");
  Call start = call(reference, "POST", uploads, "pull,push");
  if (mount_from) {
    start.target += cat("?mount=", http::escape(blob.digest.str()), "&from=", http::escape(mount_from->path));
    start.scopes.push_back(cat("repository:", mount_from->path, ":pull"));
  }
  start.body = http::Body::of("");
  http::Response response = transport.send(start);
  std::string url = http::redact_url(transport.url(start.host, start.target));
  if (mount_from && response.status == 201) {
    check_content_digest(response, blob.digest, cat("mounting ", blob.digest.str()));
    ++transport.stats().blobs_mounted;
    log::debug(cat("mounted ", blob.digest.str(), " from ", quote(mount_from->repository())));
    return finish();
  }
  if (response.status != 202) fail("POST ", url, ": ", describe(response));
  std::string location = upload_location(response, "POST", url);

  UniqueFd fd = open_file(store.blob_path(blob.digest), O_RDONLY | O_CLOEXEC);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) fail_errno(cat("stat ", store.blob_path(blob.digest)));
  if (static_cast<std::int64_t>(status.st_size) != blob.size)
    fail("blob ", blob.digest.str(), " in the store has ", status.st_size, " bytes but its descriptor states ",
         blob.size);

  bool chunked = static_cast<std::uint64_t>(blob.size) >= transport.options().chunk_threshold;
  if (chunked)
    upload_chunked(reference, location, fd.get(), blob, progress);
  else
    upload_monolithic(reference, location, fd.get(), blob, progress);
  ++transport.stats().blobs_uploaded;
  transport.stats().bytes_uploaded += static_cast<std::uint64_t>(blob.size);
  finish();
}

void Client::State::upload_monolithic(const Reference& reference, const std::string& location, int fd,
                                             const image::Descriptor& blob, const ProgressCallback& progress) {
  Call put = call(reference, "PUT", with_digest_parameter(location, blob.digest), "pull,push");
  put.headers.push_back("Content-Type: application/octet-stream");
  put.body = http::Body::of_file(fd, 0, static_cast<std::uint64_t>(blob.size));
  RateMeter meter;
  TransferProgress report{blob.digest, 0, static_cast<std::uint64_t>(blob.size), 0, false};
  put.on_sent = [&](std::uint64_t sent) {
    if (!progress || !meter.due()) return;
    report.bytes = sent;
    report.bytes_per_second = meter.rate(sent);
    progress(report);
  };

  http::Response response = transport.send(put);
  std::string url = http::redact_url(transport.url(put.host, put.target));
  if (response.status != 201) fail("PUT ", url, ": ", describe(response));
  check_content_digest(response, blob.digest, cat("uploading ", blob.digest.str()));
}

void Client::State::upload_chunked(const Reference& reference, std::string location, int fd,
                                          const image::Descriptor& blob, const ProgressCallback& progress) {
  const auto size = static_cast<std::uint64_t>(blob.size);
  const std::uint64_t chunk_size = std::max<std::uint64_t>(1, transport.options().chunk_size);
  RateMeter meter;
  TransferProgress report{blob.digest, 0, size, 0, false};

  std::uint64_t offset = 0;
  while (offset < size) {
    std::uint64_t length = std::min(chunk_size, size - offset);
    Call patch = call(reference, "PATCH", location, "pull,push");
    patch.headers.push_back("Content-Type: application/octet-stream");
    patch.headers.push_back(cat("Content-Range: ", offset, "-", offset + length - 1));
    patch.body = http::Body::of_file(fd, offset, length);
    http::Response response = transport.send(patch);
    std::string url = http::redact_url(transport.url(patch.host, patch.target));

    // A 416 means the registry stored a different amount, so continue from its offset.
    if (response.status != 202 && response.status != 416) fail("PATCH ", url, ": ", describe(response));
    std::uint64_t held = range_end(response, url);
    if (held > size) fail("PATCH ", url, ": the registry holds ", held, " bytes of a ", size, "-byte blob");
    if (response.status == 202 && held != offset + length)
      log::debug(cat("PATCH ", url, ": the registry stored ", held, " bytes, expected ", offset + length));
    offset = held;
    location = upload_location(response, "PATCH", url);

    report.bytes = offset;
    if (progress && meter.due()) {
      report.bytes_per_second = meter.rate(offset);
      progress(report);
    }
  }

  Call put = call(reference, "PUT", with_digest_parameter(location, blob.digest), "pull,push");
  put.body = http::Body::of("");
  http::Response response = transport.send(put);
  std::string url = http::redact_url(transport.url(put.host, put.target));
  if (response.status != 201) fail("PUT ", url, ": ", describe(response));
  check_content_digest(response, blob.digest, cat("uploading ", blob.digest.str()));
}

PushResult Client::push(store::Store& store, const PushRequest& request, const ProgressCallback& progress) {
  const Reference& reference = request.reference;
  return with_context(cat("pushing ", quote(reference.str())), [&] {
    Digest manifest_digest = sha256_of(request.manifest);
    if (reference.digest && *reference.digest != manifest_digest)
      fail("the reference names digest ", reference.digest->str(), " but the manifest hashes to ",
           manifest_digest.str());

    std::optional<Reference> mount_from = request.mount_from;
    if (mount_from && mount_from->registry_host() != reference.registry_host()) mount_from.reset();
    state_->push_blob(reference, request.config, store, mount_from, progress);
    for (const auto& layer : request.layers) state_->push_blob(reference, layer, store, mount_from, progress);

    std::vector<std::string> names;
    if (!reference.tag.empty()) names.push_back(reference.tag);
    for (const auto& tag : request.tags) names.push_back(Reference::parse(reference.repository() + ":" + tag).tag);
    if (names.empty()) names.push_back(manifest_digest.str());

    PushResult result{manifest_digest, {}};
    for (const auto& name : names) {
      Call put = state_->call(reference, "PUT", cat("/v2/", reference.path, "/manifests/", name), "pull,push");
      put.headers.push_back("Content-Type: " + request.manifest_media_type);
      put.body = http::Body::of(request.manifest);
      http::Response response = state_->transport.send(put);
      std::string url = http::redact_url(state_->transport.url(put.host, put.target));
      if (response.status != 201 && response.status != 200) fail("PUT ", url, ": ", describe(response));
      check_content_digest(response, manifest_digest, cat("PUT ", url));

      bool by_digest = name.starts_with("sha256:");
      result.references.push_back(cat(reference.repository(), by_digest ? "@" : ":", name));
    }
    return result;
  });
}

}  // namespace imgbuild::registry
