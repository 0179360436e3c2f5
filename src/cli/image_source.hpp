// SPDX-License-Identifier: Apache-2.0
// Images named on the command line, as `imgbuild diff` takes them:
//   oci:DIR[:TAG]                a local OCI layout; TAG may be a digest
//   oci-archive:FILE[:TAG]       a tar of an OCI layout
//   docker-archive:FILE[:NAME]   a `docker save` or `podman save` tar
//   docker://REF                 a registry image, pulled into the store
//   FILE.json                    a build record or a --report document
//   previous[:NAME[:TARGET]]     the newest successful build in the store
// As in --output, the first ':' after the transport ends the path.
#pragma once

#include <optional>
#include <string>

#include "imgbuild/image/image.hpp"
#include "imgbuild/report/snapshot.hpp"
#include "imgbuild/store/store.hpp"

namespace imgbuild::cli {

// One loaded input. Either `image` is set, and its blobs are in the store,
// or only `snapshot` is known, which has no file list.
struct ImageSource {
  std::string text;                   // as typed, for messages
  std::optional<image::Image> image;
  std::optional<report::Snapshot> snapshot;
  // Why only a snapshot is known, for example "a JSON report"; empty for images.
  std::string snapshot_reason;
};

// Parses `text` and loads what it names, importing image blobs into `store`.
// Throws Error naming `text`: a usage error when it matches no accepted form,
// a build failure when the input cannot be read.
ImageSource load_image_source(store::Store& store, const std::string& text, const image::Platform& platform);

// Returns the snapshot of `source`, cataloguing the image when there is one.
report::Snapshot snapshot_of(const ImageSource& source, const store::Store& store);

}  // namespace imgbuild::cli
