// SPDX-License-Identifier: Apache-2.0
// File system operations confined to a root directory, for the unpacker.
// Internal to the layer module.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgbuild/util/fs.hpp"

namespace imgbuild::layer {

// Opens the directory `path` below `root_fd` as if `root_fd` were "/":
// symlinks met on the way (absolute or with "..") resolve inside the root.
// Uses openat2(RESOLVE_IN_ROOT) and falls back to resolving one component at
// a time with O_NOFOLLOW on kernels without it. With `create`, missing
// directories are made with mode 0755. Returns an O_PATH descriptor, or an
// invalid one with errno set when the path does not resolve to a directory.
UniqueFd open_dir_in_root(int root_fd, std::string_view path, bool create);

// Removes `name` in `dir_fd` and, for a directory, everything below it,
// never following symlinks. No-op when `name` does not exist.
void remove_at(int dir_fd, const std::string& name);

// Returns the names in the directory open as `fd`, without "." and "..".
std::vector<std::string> list_directory(int fd);

// Splits "a/b/c" into "a/b" and "c"; "c" into "" and "c".
std::pair<std::string, std::string> split_parent(std::string_view path);

}  // namespace imgbuild::layer
