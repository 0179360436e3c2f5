// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/layer/entry.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/digest.hpp"

namespace imgbuild::layer {

struct ReadOptions {
  std::optional<Digest> blob_digest;  // checked against the blob's bytes
  std::optional<Digest> diff_id;      // checked against the decompressed tar
  std::string layer_name;             // names the layer in errors; default: the blob path
};

struct ReadResult {
  Digest diff_id;
  Digest blob_digest;
  std::uint64_t uncompressed_size = 0;
  Compression compression = Compression::none;
  std::size_t entries = 0;
};

// Returns the compression of a layer blob from its magic bytes: gzip
// (1f 8b), zstd (28 b5 2f fd), otherwise none (a plain tar).
Compression sniff_compression(const std::filesystem::path& blob);

// Content of the current entry; reads past its end return 0.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  virtual std::size_t read(void* buffer, std::size_t size) = 0;
  // Reads the rest of the content; throws when it exceeds `limit` bytes.
  std::string read_all(std::uint64_t limit = 64u << 20);
};

// Streams the entries of a layer blob (gzip with any number of members,
// zstd or plain tar) without unpacking. Paths are cleaned like the
// unpacker's: no leading '/' or "./", no trailing '/', no "." components.
// ".." components are kept for the caller to judge. Hardlinks have type
// `hardlink` and `link_target`. Content not read by `callback` is skipped.
// Throws on a corrupt stream or a digest mismatch in `options`.
ReadResult for_each_entry(const std::filesystem::path& blob,
                          const std::function<void(const Entry&, ContentReader&)>& callback,
                          const ReadOptions& options = {});

// How an opaque directory is marked in overlay lower form.
enum class OpaqueXattr { trusted, user };

struct UnpackResult {
  ReadResult read;
  std::size_t skipped_devices = 0;  // device nodes not created (no CAP_MKNOD)
};

// Applies one layer onto the rootfs at `root` (which must exist): whiteouts
// and opaque markers delete lower content, a directory over a directory
// changes attributes only, anything else replaces what was there. Never
// writes outside `root`: entries and hardlink targets with a ".." component
// throw naming the entry and layer, absolute names are taken relative to
// `root`, and symlinks met on the way are resolved as if `root` were "/".
// Ownership is applied only when running as root; devices that cannot be
// created are skipped with a warning. Throws on a digest mismatch.
UnpackResult unpack_flat(const std::filesystem::path& blob, const std::filesystem::path& root,
                         const ReadOptions& options = {});

// Unpacks one layer into the empty directory `root` in overlayfs lower
// form: a whiteout becomes a character device 0:0 and an opaque directory
// gets `<trusted|user>.overlay.opaque=y`. Same safety rules as unpack_flat.
UnpackResult unpack_overlay_lower(const std::filesystem::path& blob, const std::filesystem::path& root,
                                  const ReadOptions& options = {},
                                  OpaqueXattr opaque = OpaqueXattr::trusted);

// Returns store.unpacked_dir(diff_id), unpacking the layer's blob there in
// overlay lower form first when missing (into a temporary directory that
// is renamed into place, so readers never see a partial layer). The opaque
// mark is trusted.overlay.opaque for root on the host, else user.* (as
// overlayfs reads it when mounted with userxattr).
std::filesystem::path ensure_unpacked(store::Store& store, const Digest& diff_id);

// Applies the layers `diff_ids` (base first) from the store onto `root`.
void unpack_layers_flat(store::Store& store, const std::vector<Digest>& diff_ids, const std::filesystem::path& root);

}  // namespace imgbuild::layer
