// SPDX-License-Identifier: Apache-2.0
// Stage bases: scratch, another stage, a local image file, a registry
// image or a Debian package set. `resolve_base` turns each into an
// image held in the store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "imgbuild/base/debian.hpp"
#include "imgbuild/image/image.hpp"
#include "imgbuild/registry/client.hpp"

namespace imgbuild::base {

namespace fs = std::filesystem;

// An empty image: no layers, only the platform in the config.
struct Scratch {};

// Another stage of the same recipe. The caller builds stages, so resolving
// one only returns its name.
struct StageBase {
  std::string name;
};

// An image in a local file: `oci:DIR[:TAG|@DIGEST]`, `oci-archive:FILE` or
// `docker-archive:FILE`.
struct LocalBase {
  enum class Transport { oci_layout, oci_archive, docker_archive };
  Transport transport = Transport::oci_layout;
  fs::path path;                       // relative paths resolve against the recipe directory
  std::optional<std::string> tag;      // oci_layout only
  std::optional<std::string> digest;   // oci_layout only: "sha256:..."
};

// An image in a registry, by reference ("docker.io/library/debian:bookworm").
struct RegistryBase {
  std::string reference;
};

using BaseSpec = std::variant<Scratch, StageBase, LocalBase, RegistryBase, DebianBase>;

// Everything resolving a base needs from the build.
struct BaseContext {
  store::Store& store;
  image::Platform platform{};
  std::int64_t source_date_epoch = 0;  // mtimes clamp and `created` of new Debian bases
  bool pull = false;                   // refresh registry bases and rebuild Debian bases
  bool locked = false;                 // registry bases must match the lock file
  fs::path lock_file{};                // empty: no lock file
  fs::path recipe_dir{};               // for relative local paths
  registry::RegistryOptions registry{};// used when `registry_client` is null
  registry::Client* registry_client = nullptr;  // shared by the build, so tokens are reused
  // Receives progress and status lines ("base debian bookworm minbase: cached");
  // when empty they go to log::info.
  std::function<void(std::string_view)> progress{};
  // The mmdebstrap program; tests point it at a missing file to prove a
  // cached base does not run it.
  std::string mmdebstrap = "mmdebstrap";
  int threads = 0;                     // layer compression threads; 0: number of cores
};

// A resolved base. For a stage only `stage` is set.
struct ResolvedBase {
  image::Image image;
  std::string stage;  // non-empty: the caller must start from this stage's image
  // Debian bases only: the installed packages, and with `pull` the list the
  // cache held before the rebuild.
  std::vector<Package> packages;
  std::optional<std::vector<Package>> previous_packages;
  bool cached = false;  // reused from the store without network or mmdebstrap
};

// Resolves `spec` to an image whose layers are in `context.store`.
ResolvedBase resolve_base(const BaseSpec& spec, BaseContext& context);

// Returns the empty image for `platform`.
image::Image scratch_image(const image::Platform& platform);

// Returns a short description for logs: "scratch", "oci:/images/app:1.0" ...
std::string describe(const BaseSpec& spec);

}  // namespace imgbuild::base
