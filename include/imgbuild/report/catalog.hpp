// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

// The package catalogue of an image, read from its layers' tars without
// unpacking them (or from a plain rootfs directory), together with the merged
// file list that policies, `imgbuild diff` and the size report need.
namespace imgbuild::report {

namespace fs = std::filesystem;

enum class Ecosystem { deb, python };

std::string_view ecosystem_name(Ecosystem ecosystem);  // "deb" or "python"
// Parses "deb" or "python"; throws Error naming the text otherwise.
Ecosystem parse_ecosystem(std::string_view text);

struct Package {
  Ecosystem ecosystem = Ecosystem::deb;
  std::string name;          // deb: binary package; python: PEP 503 normalized
  std::string version;
  std::string architecture;  // deb only ("amd64", "all"); empty for python
  std::uint64_t installed_size = 0;  // bytes: Installed-Size * 1024, or the sum of RECORD sizes
  int layer = -1;            // index of the layer that brought in this version; -1 unknown
  std::string source;        // deb: source package (the Source field, else the name)
  std::string source_version;  // deb: source version ("Source: x (v)"), else the version

  // Identity across builds: a changed version keeps the key.
  std::tuple<Ecosystem, std::string, std::string> key() const {
    return {ecosystem, name, architecture};
  }
  // "libc6:amd64" for deb, "requests" for python.
  std::string display_name() const;
};

// The distribution named by /etc/os-release (or /usr/lib/os-release).
struct OsRelease {
  std::string id;          // "debian"
  std::string version_id;  // "12"
  std::string codename;    // "bookworm"; derived from /etc/debian_version when missing
};

enum class FileKind { regular, directory, symlink, hardlink, other };

// One path of the merged filesystem and the layer that last wrote it.
struct FileRecord {
  FileKind kind = FileKind::regular;
  std::uint64_t size = 0;  // regular files; hardlinks count 0 because they share data
  int layer = 0;
};

// A path written by more than one layer, or written and later deleted. The
// lower copies still ship in the image, so their bytes are wasted.
struct Overwrite {
  std::string path;         // absolute, "/usr/lib/x.so"
  std::vector<int> layers;  // layers that wrote or deleted the path, in order
  std::uint64_t wasted = 0; // bytes of the hidden copies
};

// The merged filesystem of an image (or rootfs) and its catalogue.
struct Filesystem {
  std::map<std::string, FileRecord> files;  // absolute path -> record
  std::vector<Overwrite> overwrites;        // sorted by wasted bytes, largest first
  std::vector<Package> packages;            // sorted by key
  OsRelease os;
  std::vector<std::uint64_t> layer_tar_sizes;  // bytes of each layer's uncompressed tar
};

// Reads layer blobs (tar, tar+gzip or tar+zstd) base first, applying
// whiteouts and opaque directory markers, and catalogues the packages of the
// merged result. Throws Error naming the blob when one cannot be read.
Filesystem read_layers(std::span<const fs::path> blobs);

// Catalogues a plain root filesystem directory (no whiteouts); every file
// gets layer 0.
Filesystem read_rootfs(const fs::path& root);

// Normalizes a Python distribution name as PEP 503 does: lower case, and
// each run of '-', '_' and '.' becomes one '-'.
std::string normalize_python_name(std::string_view name);

}  // namespace imgbuild::report
