// SPDX-License-Identifier: Apache-2.0
// Executing one step of a stage, with the step cache in front of it.
#pragma once

#include "build/keys.hpp"
#include "build/session.hpp"

namespace imgbuild::build {

// Where a step is, for keys, messages and progress lines.
struct StepPlace {
  const recipe::Stage& stage;
  const recipe::Step& step;
  std::size_t index = 0;   // 0-based
  std::size_t count = 0;   // steps in the stage
};

// What one step did.
struct StepOutcome {
  CacheOutcome cache = CacheOutcome::none;
  std::string detail;      // e.g. the --explain reason
};

StepOutcome apply_env_step(Session& session, const StepPlace& place, StageResult& state);
StepOutcome apply_user_step(Session& session, const StepPlace& place, StageResult& state);
StepOutcome apply_workdir_step(Session& session, const StepPlace& place, StageResult& state);
StepOutcome apply_run_step(Session& session, const StepPlace& place, StageResult& state);
StepOutcome apply_copy_step(Session& session, const StepPlace& place, StageResult& state);

// The created_by text of a step in the image history.
std::string history_text(const recipe::Step& step);

}  // namespace imgbuild::build
