// SPDX-License-Identifier: Apache-2.0
// What happens after the stages are built: the image config of the target,
// the report and policy, the outputs and the build record.
#pragma once

#include "build/session.hpp"

namespace imgbuild::build {

// Applies a stage's [stage.config] to its image, one empty-layer history
// entry per key set, as a Dockerfile's CMD, EXPOSE, ... lines would.
void apply_stage_config(Session& session, const recipe::Stage& stage, StageResult& state);

// Reports on the target image, checks the policies, writes the outputs and
// the build record. Returns success, or policy when a policy failed (then
// no output is written).
ExitCode finish_build(Session& session, const recipe::Stage& target, StageResult& result, std::int64_t started);

}  // namespace imgbuild::build
