// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/error.hpp"

#include <cerrno>
#include <cstring>

namespace imgbuild {

void fail_errno(std::string_view what) { fail_errno(what, errno); }

void fail_errno(std::string_view what, int error_number) {
  throw Error(cat(what, ": ", std::strerror(error_number)));
}

}  // namespace imgbuild
