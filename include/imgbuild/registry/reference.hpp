// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "imgbuild/util/digest.hpp"

namespace imgbuild::registry {

// An image reference in the docker grammar:
//   [domain/]path[:tag][@sha256:hex]
// The first component is a domain when it contains '.' or ':' or is
// "localhost". Otherwise the domain is docker.io, where a single-component
// path gets the "library/" prefix. Without a tag or digest the tag is "latest".
struct Reference {
  std::string domain;            // "docker.io", "quay.io", "127.0.0.1:5000"
  std::string path;              // "library/debian", the name in /v2/<path>/...
  std::string tag;               // empty when only a digest was given
  std::optional<Digest> digest;  // set for "name@sha256:..."

  // Parses `text`; throws Error naming the text and the rule it breaks.
  static Reference parse(std::string_view text);

  // Returns the normalized form, "docker.io/library/debian:bookworm",
  // with "@sha256:..." appended when a digest is set.
  std::string str() const;
  // Returns domain/path without tag or digest: "docker.io/library/debian".
  std::string repository() const;
  // Returns the host serving the API: "registry-1.docker.io" for docker.io,
  // the domain otherwise.
  std::string registry_host() const;
  // Returns the digest string when set, else the tag: the last URL component
  // of /v2/<path>/manifests/<...>.
  std::string manifest_reference() const;
  // Returns a copy that names `pinned` and keeps the tag for messages.
  Reference with_digest(const Digest& pinned) const;

  bool operator==(const Reference&) const = default;
};

}  // namespace imgbuild::registry
