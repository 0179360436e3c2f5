// SPDX-License-Identifier: Apache-2.0
// Output destinations of a built image (`--output`) and loading it into a
// container engine (`--load`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "imgbuild/image/image.hpp"

namespace imgbuild::store {
class Store;
}

namespace imgbuild::image {

enum class OutputKind { oci_layout, oci_archive, docker_archive, registry };

struct OutputSpec {
  OutputKind kind = OutputKind::oci_layout;
  std::filesystem::path path;  // oci, oci-archive, docker-archive
  std::string tag;             // oci: the TAG part; empty when not given (the caller picks one)
  std::string reference;       // docker://: the registry reference, e.g. "127.0.0.1:5000/app:1"
};

// Parses "oci:DIR[:TAG]", "oci-archive:FILE", "docker-archive:FILE" or
// "docker://REF". As in skopeo, the first ':' after "oci:" ends DIR. Throws
// a usage error naming the text and the accepted forms.
OutputSpec parse_output(std::string_view text);

enum class Engine { podman, docker };

// Parses "podman" or "docker"; throws a usage error otherwise.
Engine parse_engine(std::string_view text);

// Loads `image` into a local engine under `name` (e.g. "localhost/app:latest")
// by writing a docker-archive into the store's tmp/ and running
// `podman load -i` or `docker load -i`. The engine reads its own settings
// from the environment (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF,
// DOCKER_HOST). Returns the engine's output; throws with its error output
// when it fails.
std::string load_into_engine(const store::Store& store, const Image& image, const std::string& name, Engine engine);

}  // namespace imgbuild::image
