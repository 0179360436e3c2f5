// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "imgbuild/base/base.hpp"

namespace imgbuild::base {

// Sends a progress or status line to the context's callback, or to log::info
// when it has none.
void emit_progress(const BaseContext& context, std::string_view line);

}  // namespace imgbuild::base
