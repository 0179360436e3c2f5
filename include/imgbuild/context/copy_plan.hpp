// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgbuild/context/source_tree.hpp"
#include "imgbuild/layer/entry.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::context {

struct Owner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

// One copy step, in plain values (the recipe module fills it).
struct CopyRequest {
  std::vector<std::string> sources;  // paths or globs in the source tree, as written
  std::string destination;           // image path; relative means relative to `workdir`
  std::string workdir = "/";
  std::optional<Owner> owner;        // set: applies to everything copied and created
  std::optional<std::uint32_t> mode; // set: applies to every copied file and directory (07777)
  // Build epoch in seconds since 1970: the mtime of the parent directories
  // the copy creates, which have no source file to take one from.
  std::int64_t epoch = 0;
  // Context paths or patterns (ignore-file syntax) the secrets guard lets
  // through: the recipe's `[context] allow = [...]`.
  std::vector<std::string> allow;
};

// Returns true when `image_path` ("/a/b") is a directory in the stage the
// files are copied into, as its current view shows it.
using ImageQuery = std::function<bool(std::string_view image_path)>;

// The changeset of one copy step, ready for the layer writer.
struct CopyPlan {
  std::vector<layer::Entry> entries;  // in layer order (layer::path_before): parents first
  std::vector<std::string> origins;   // per entry: path in the source tree, "" for created parents
  std::vector<std::string> content_digests;  // per entry: "sha256:..." of regular files, else ""
  std::vector<std::string> allowed_secrets;  // likely credentials copied because `allow` names them
  Digest input_hash;                  // the step's input key; see hash_copy_inputs
};

// Plans a copy with Dockerfile COPY semantics:
// - globs (`*`, `?`, `[...]`) expand inside the tree and skip ignored paths.
//   A glob that matches nothing is an error unless another source matched or
//   every directory it looked in was empty. A missing literal path is an error.
// - a destination ending in '/' (or an existing directory in the image, or
//   several sources) receives files under their own names; several sources
//   need the trailing '/'.
// - a directory source copies its contents; a top-level symlink source is
//   followed inside the tree; symlinks below it are copied as links.
// - missing parent directories are created 0755, owned by `owner` or 0:0,
//   with `epoch` as mtime.
// - files from a build context get owner 0:0 unless `owner` is set; files
//   from a stage keep theirs. Xattrs are kept in every case.
// - names sharing an inode become hardlinks to the first name in layer order.
// - likely credentials from a build context are rejected (see secrets_guard.hpp).
CopyPlan plan_copy(const CopyRequest& request, const SourceTree& tree, const ImageQuery& image);

// Hashes what a copy puts into the layer: per entry its layer path, source
// path in the tree, type, mode, owner, size, link target, device numbers,
// xattrs and content digest. Modification times and host paths are left out,
// so a touched file or a clone in another folder gives the same key.
Digest hash_copy_inputs(const CopyPlan& plan);

// Runs `work(i)` for i in [0, count) on max(2, cores) threads; rethrows the
// first exception.
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& work);

}  // namespace imgbuild::context
