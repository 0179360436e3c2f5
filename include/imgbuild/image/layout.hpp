// SPDX-License-Identifier: Apache-2.0
// Local image files: OCI image layouts (a directory), OCI archives (a tar of
// a layout) and docker-archives (the `docker save` tar). Writers read blobs
// from the store; readers import every blob into the store.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/image/image.hpp"
#include "imgbuild/image/manifest.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::image {

namespace fs = std::filesystem;

// Writes `image` into the OCI layout `dir`, creating it when missing. Each
// tag gets an index.json descriptor annotated org.opencontainers.image.ref.name
// = tag; other images already in the layout stay, and a tag that moved
// replaces only that descriptor. Blobs are hardlinked from the store when
// possible, else copied, and checked against their digests; index.json is
// renamed into place last. Files that already hold the right content are not
// rewritten. Format::docker is rejected, because skopeo and podman look only
// for OCI manifests in a layout. Returns what was written.
SerializedManifest write_oci_layout(const store::Store& store, const Image& image, const fs::path& dir,
                                    const std::vector<std::string>& tags, Format format = Format::oci);

// Writes `image` as an OCI archive: a tar of an OCI layout with fixed entry
// order, times and owners. `references` are full names such as
// "localhost/backend:latest", because `podman load` names the image after
// the ref.name annotation. The file is replaced atomically.
SerializedManifest write_oci_archive(const store::Store& store, const Image& image, const fs::path& file,
                                     const std::vector<std::string>& references, Format format = Format::oci);

// Writes `image` as `docker save` does in its blobs/sha256 form: manifest.json
// (Config, RepoTags, Layers), `repositories` and the blobs, with the Docker
// form of the config. Layer blobs are written as stored (gzip or plain
// tar), which `podman load` and `skopeo` decompress. A repo tag without a
// tag gets ":latest". The file is replaced atomically.
// NOTE: `docker load` of gzip layers is untested here (no Docker daemon).
SerializedManifest write_docker_archive(const store::Store& store, const Image& image, const fs::path& file,
                                        const std::vector<std::string>& repo_tags);

// Reads the image named `reference` from the OCI layout `dir`: a ref.name
// annotation value, a manifest digest ("sha256:..."), or empty when the
// layout contains one image. An index is resolved to `platform`. Every blob is
// imported into the store and checked against its digest and, for layers,
// against the config's diff_ids.
Image load_oci_layout(store::Store& store, const fs::path& dir, const std::string& reference,
                      const Platform& platform = {});

// Reads an OCI archive as load_oci_layout does. `reference` also matches
// the tag part of a full ref.name ("latest" finds "localhost/app:latest")
// when exactly one does.
Image load_oci_archive(store::Store& store, const fs::path& file, const std::string& reference,
                       const Platform& platform = {});

// Reads a docker-archive written by `docker save` (either layout) or
// `podman save`. `name` picks the image by one of its RepoTags ("app",
// "app:1", "localhost/app:1" and "docker.io/library/app:1" are matched
// as Docker normalizes them), or is empty when the archive contains one image.
Image load_docker_archive(store::Store& store, const fs::path& file, const std::string& name);

}  // namespace imgbuild::image
