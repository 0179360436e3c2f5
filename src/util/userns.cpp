// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/userns.hpp"

#include <fstream>
#include <unistd.h>

namespace imgbuild {

bool in_user_namespace() {
  // The host's namespace maps every id to itself: one line "0 0 4294967295".
  static const bool inside = [] {
    std::ifstream map("/proc/self/uid_map");
    unsigned long long inner = 0, outer = 0, count = 0;
    if (!(map >> inner >> outer >> count)) return false;
    unsigned long long extra = 0;
    bool more_lines = static_cast<bool>(map >> extra);
    return more_lines || inner != 0 || outer != 0 || count != 4294967295ULL;
  }();
  return inside;
}

bool host_root() { return ::geteuid() == 0 && !in_user_namespace(); }

bool id_mapped(unsigned long id, bool group) {
  std::ifstream map(group ? "/proc/self/gid_map" : "/proc/self/uid_map");
  unsigned long long inner = 0, outer = 0, count = 0;
  while (map >> inner >> outer >> count)
    if (id >= inner && id - inner < count) return true;
  return false;
}

}  // namespace imgbuild
