// SPDX-License-Identifier: Apache-2.0
// Build progress: one line per stage and step with cache hit or miss and the
// time taken, step output prefixed with [stage/step]. `plain` prints lines,
// `json` prints one JSON object per event, and `tty` adds a status line that
// shows each running stage, its current step and the elapsed time, redrawn
// in place.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <atomic>

#include "imgbuild/build/options.hpp"

namespace imgbuild::build {

enum class CacheOutcome { hit, miss, none };

class ProgressView {
 public:
  explicit ProgressView(Progress mode);
  ~ProgressView();

  // A stage starts building; `base` describes its base image.
  void stage_started(const std::string& stage, std::string_view base);
  void stage_finished(const std::string& stage, double seconds);

  void step_started(const std::string& stage, std::size_t number, std::size_t count, std::string_view text);
  void step_output(const std::string& stage, std::size_t number, std::string_view line);
  void step_finished(const std::string& stage, std::size_t number, std::size_t count, std::string_view text,
                     CacheOutcome outcome, double seconds, std::string_view detail = {});
  // Bytes written so far by the layer being packed, for the live view.
  void step_bytes(const std::string& stage, std::uint64_t bytes);

  void message(std::string_view text);
  Progress mode() const { return mode_; }

 private:
  struct Running {
    std::string step;
    std::chrono::steady_clock::time_point since;
    std::uint64_t bytes = 0;
  };
  void redraw_locked();
  void clear_status_locked();
  void print_locked(std::string_view line);

  Progress mode_;
  std::mutex mutex_;
  std::map<std::string, Running> running_;
  bool status_shown_ = false;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};

// Resolves `automatic` to tty on a terminal and plain elsewhere.
Progress resolve_progress(Progress requested);

// Shortens a step for log lines: the first line, at most 60 bytes.
std::string summarize(std::string_view text);

}  // namespace imgbuild::build
