// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "exec/spec.hpp"
#include "imgbuild/exec/run_step.hpp"

namespace imgbuild::exec {

// Returns the step's environment: the request's entries, then PATH and HOME
// when unset, then the host proxy variables when the request allows them.
std::vector<std::string> step_env(const RunRequest& request, const ResolvedUser& user);

// Writes the files the step gets bind-mounted into `bundle` (copies of the
// host's resolv.conf and hosts, the secrets with their owner and mode),
// creates missing cache dirs and returns every bind mount of the step.
std::vector<BindMount> prepare_binds(const RunRequest& request, const std::filesystem::path& bundle);

// Mount points the runtime has to create in the root because they do not
// exist there yet ("/etc/hosts" in an image without one). They are removed
// after the step so they do not end up in the layer, unless the step put
// something into them.
class MountStubs {
 public:
  MountStubs(const std::filesystem::path& rootfs, const std::filesystem::path& upper,
             const std::vector<std::string>& targets);
  // Removes the stubs through the mounted root.
  void remove() const;
  // Removes, from the unmounted upper dir, parent directories that were
  // copied up only because a stub was created in them: empty, new in the
  // upper dir and with the mode, owner and xattrs of the lower directory.
  void prune_upper(const std::vector<std::filesystem::path>& lowers) const;

 private:
  std::filesystem::path rootfs_;
  std::filesystem::path upper_;
  std::vector<std::string> missing_;  // top-most missing component of each target, relative
  std::vector<std::string> parents_;  // their parents that were not in the upper dir, deepest first
};

}  // namespace imgbuild::exec
