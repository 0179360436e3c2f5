// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "build/session.hpp"
#include "imgbuild/context/rootfs_view.hpp"

namespace imgbuild::build {

// Resolves the base of a stage into its starting state. A stage base must
// be in `session.results` already.
StageResult start_stage(Session& session, const recipe::Stage& stage);

// Runs or reuses each step of a stage on the state `start_stage` returned.
// The stages its copy steps read from must be in `session.results` already.
void build_steps(Session& session, const recipe::Stage& stage, StageResult& state);

// Returns a read-only view of `image`'s merged filesystem, unpacking layers
// into the store's overlay lower form when they are not there yet.
context::RootfsView view_of(Session& session, const image::Image& image, const std::string& name);

// Returns the values of the build args a step sees.
std::map<std::string, std::string> visible_arg_values(const Session& session, const recipe::Stage& stage,
                                                      std::size_t step_index);

// Returns the lookup that ${VAR} expansion uses in a step: env first, then args.
recipe::Lookup make_lookup(const recipe::EnvList& env, const std::map<std::string, std::string>& args);

}  // namespace imgbuild::build
