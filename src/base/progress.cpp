// SPDX-License-Identifier: Apache-2.0
#include "base/progress.hpp"

#include "imgbuild/util/log.hpp"

namespace imgbuild::base {

void emit_progress(const BaseContext& context, std::string_view line) {
  if (context.progress)
    context.progress(line);
  else
    log::info(line);
}

}  // namespace imgbuild::base
