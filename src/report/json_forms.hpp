// SPDX-License-Identifier: Apache-2.0
// JSON forms shared by build records and reports.
#pragma once

#include <nlohmann/json.hpp>

#include "imgbuild/report/snapshot.hpp"

namespace imgbuild::report::detail {

nlohmann::json package_json(const Package& package);
nlohmann::json finding_json(const Finding& finding);
nlohmann::json vulnerabilities_json(const std::optional<VulnerabilityCounts>& counts);

}  // namespace imgbuild::report::detail
