// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

namespace imgbuild::exec {

// Runs this program again (argv as given) as root of a new user namespace
// and a private mount namespace when the effective uid is not 0, and returns
// its exit code. Returns nothing for a caller that is already root.
//
// Namespace root maps to the caller. Ids 1..N map to the caller's
// subordinate ranges through newuidmap, or stay unmapped when there are
// none. Mounts made inside vanish with the namespace, so none can outlive
// the build. Signals sent to this process are relayed to the inner one.
// Call it before any thread starts, because unshare(CLONE_NEWUSER) needs a
// single-threaded process.
std::optional<int> rerun_in_user_namespace(char** argv);

// Warns, naming the fix, when the inner process has only the caller's own
// ids mapped.
void warn_if_ids_limited();

// In the inner process: why only the caller's own ids are mapped, with the
// line to add to /etc/subuid; empty when the subordinate ranges are mapped.
std::string limited_ids_reason();

}  // namespace imgbuild::exec
