// SPDX-License-Identifier: Apache-2.0
#include "exec/container.hpp"

#include <chrono>
#include <future>

#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::exec {
namespace {

// runc and crun log their own failures as logfmt lines on stderr.
bool is_runtime_log_line(std::string_view line) {
  return starts_with(line, "time=\"") && line.find(" level=error msg=") != std::string_view::npos;
}

}  // namespace

Container::Container(RuntimeInfo runtime, std::filesystem::path state_dir, std::string id)
    : runtime_(std::move(runtime)), state_dir_(std::move(state_dir)), id_(std::move(id)) {
  cleanup_handle_ = cleanup::register_action([command_kill = command({"kill", id_, "KILL"}),
                                              command_delete = command({"delete", "--force", id_})] {
    run_process(command_kill);
    run_process(command_delete);
  });
}

Container::~Container() { remove(); }

std::vector<std::string> Container::command(std::initializer_list<std::string> arguments) const {
  std::vector<std::string> argv = {runtime_.program.string(), "--root", state_dir_.string()};
  argv.insert(argv.end(), arguments);
  return argv;
}

void Container::remove() noexcept {
  if (cleanup_handle_ == 0) return;
  try {
    run_process(command({"kill", id_, "KILL"}));
    run_process(command({"delete", "--force", id_}));
  } catch (...) {
    // Still registered, so an interrupt retries.
    return;
  }
  cleanup::unregister_action(cleanup_handle_);
  cleanup_handle_ = 0;
}

ContainerOutcome Container::run(const std::filesystem::path& bundle,
                                const std::function<void(Stream, std::string_view)>& on_line,
                                const std::function<bool()>& cancelled) {
  ContainerOutcome outcome;
  ProcessOptions options;
  options.capture = false;
  options.on_line = [&](Stream stream, std::string_view line) {
    if (stream == Stream::err && is_runtime_log_line(line)) {
      outcome.runtime_error += outcome.runtime_error.empty() ? "" : "\n";
      outcome.runtime_error += line;
    }
    if (on_line) on_line(stream, line);
  };

  std::vector<std::string> argv = command({"run", "--bundle", bundle.string(), id_});
  auto running = std::async(std::launch::async, [&] { return run_process(argv, options); });

  bool kill_sent = false;
  while (running.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (kill_sent || !(cleanup::interrupted() || (cancelled && cancelled()))) continue;
    outcome.cancelled = true;
    // The kill fails while the runtime is still creating the container; retry.
    kill_sent = run_process(command({"kill", id_, "KILL"})).exit_code == 0;
  }
  outcome.exit_code = running.get().exit_code;
  return outcome;
}

}  // namespace imgbuild::exec
