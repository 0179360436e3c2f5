// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "imgbuild/exec/runtime.hpp"
#include "imgbuild/util/process.hpp"

namespace imgbuild::exec {

struct ContainerOutcome {
  int exit_code = -1;
  bool cancelled = false;
  std::string runtime_error;  // the runtime's own error lines, empty when it started the step
};

// One container of a runtime, deleted (with `kill` and `delete --force`)
// when the object goes away or the build is interrupted.
class Container {
 public:
  Container(RuntimeInfo runtime, std::filesystem::path state_dir, std::string id);
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;
  ~Container();

  // Runs the bundle and waits for it, passing each output line to `on_line`.
  // Every 100 ms it polls `cancelled`; when that returns true or an interrupt
  // arrived, it kills the container and returns with `cancelled` set.
  ContainerOutcome run(const std::filesystem::path& bundle,
                       const std::function<void(Stream, std::string_view)>& on_line,
                       const std::function<bool()>& cancelled);

  // Kills and deletes the container; harmless when it is already gone.
  void remove() noexcept;
  const std::string& id() const { return id_; }

 private:
  std::vector<std::string> command(std::initializer_list<std::string> arguments) const;

  RuntimeInfo runtime_;
  std::filesystem::path state_dir_;
  std::string id_;
  std::uint64_t cleanup_handle_ = 0;
};

}  // namespace imgbuild::exec
