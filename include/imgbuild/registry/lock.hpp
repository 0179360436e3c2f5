// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "imgbuild/image/image.hpp"
#include "imgbuild/registry/reference.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::registry {

class Client;

// The pins of registry base images: `imgbuild.lock` beside the recipe, a
// JSON object mapping each normalized tag reference to the digest it
// resolved to (the index digest for multi-platform images):
//   {
//     "lockVersion": 1,
//     "bases": {
//       "docker.io/library/debian:bookworm": "sha256:..."
//     }
//   }
// Keys are sorted and the file ends with a newline, so it diffs cleanly.
class LockFile {
 public:
  // Loads `path`; a missing file is an empty lock. Throws Error naming the
  // file when it is not a valid lock file.
  static LockFile load(const std::filesystem::path& path);
  // Returns the lock file path for `recipe`: imgbuild.lock in its folder.
  static std::filesystem::path path_for(const std::filesystem::path& recipe);

  const std::filesystem::path& path() const { return path_; }
  std::optional<Digest> find(const Reference& reference) const;
  void set(const Reference& reference, const Digest& digest);
  const std::map<std::string, Digest>& pins() const { return pins_; }
  // True when `set` changed a pin since loading or saving.
  bool changed() const { return changed_; }
  // Writes the file atomically when a pin changed; otherwise leaves it alone.
  void save();

 private:
  std::filesystem::path path_;
  std::map<std::string, Digest> pins_;
  bool changed_ = false;
};

enum class LockMode {
  normal,   // use a pin when there is one; resolve and pin a new tag
  refresh,  // --pull: resolve every tag again and update its pin
  locked,   // --locked: resolve, fail when a tag is unpinned or moved; never change the lock
};

// Returns `reference` with the digest to pull, chosen by `mode`. In normal
// mode a pin is used without contacting the registry. Refresh mode, and a
// missing pin in normal mode, resolve the tag and store the new pin in
// `lock`. Locked mode resolves the tag and throws Error naming the tag, the
// pinned and the resolved digest when they differ, or when there is no pin.
// A reference that names a digest is returned unchanged. The caller saves
// `lock` after all bases are resolved.
Reference pin_base(Client& client, LockFile& lock, const Reference& reference, const image::Platform& platform,
                   LockMode mode);

}  // namespace imgbuild::registry
