// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace imgbuild {

// True when this process runs in a user namespace below the host's. Its root
// has capabilities only over namespaces it owns, so overlayfs needs the
// `userxattr` option and the `user.overlay.*` marks, trusted.* xattrs are out
// of reach, and device nodes cannot be created.
bool in_user_namespace();

// True for real root: effective uid 0 in the host's user namespace.
bool host_root();

// True when `id` is mapped in this process's user namespace
// (/proc/self/uid_map, or gid_map for a group id).
bool id_mapped(unsigned long id, bool group);

}  // namespace imgbuild
