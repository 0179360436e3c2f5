// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace imgbuild {

// True when this process runs in a user namespace below the host's. Its root
// holds capabilities only over namespaces it owns: overlayfs then needs the
// `userxattr` option and the `user.overlay.*` marks, trusted.* xattrs are out
// of reach, and device nodes cannot be created.
bool in_user_namespace();

// True for real root: effective uid 0 in the host's user namespace.
bool host_root();

}  // namespace imgbuild
