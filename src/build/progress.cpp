// SPDX-License-Identifier: Apache-2.0
#include "build/progress.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {
namespace {

const char* outcome_name(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::hit: return "cached";
    case CacheOutcome::miss: return "built";
    case CacheOutcome::none: return "done";
  }
  return "done";
}

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fs", seconds);
  return buffer;
}

}  // namespace

Progress resolve_progress(Progress requested) {
  if (requested != Progress::automatic) return requested;
  return ::isatty(STDERR_FILENO) ? Progress::tty : Progress::plain;
}

std::string summarize(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  if (line.size() < text.size()) line += " ...";
  if (line.size() > 60) line = line.substr(0, 57) + "...";
  return line;
}

ProgressView::ProgressView(Progress mode) : mode_(resolve_progress(mode)) {
  log::set_format(mode_ == Progress::json ? log::Format::json
                  : mode_ == Progress::tty ? log::Format::tty : log::Format::plain);
  if (mode_ == Progress::tty) {
    ticker_ = std::thread([this] {
      while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::lock_guard lock(mutex_);
        redraw_locked();
      }
    });
  }
}

ProgressView::~ProgressView() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
  std::lock_guard lock(mutex_);
  clear_status_locked();
}

void ProgressView::clear_status_locked() {
  if (!status_shown_) return;
  log::raw("\r\033[K");
  status_shown_ = false;
}

void ProgressView::redraw_locked() {
  if (mode_ != Progress::tty || running_.empty()) return;
  std::string status;
  auto now = std::chrono::steady_clock::now();
  for (const auto& [stage, running] : running_) {
    double elapsed = std::chrono::duration<double>(now - running.since).count();
    if (!status.empty()) status += " | ";
    status += cat("[", stage, "] ", running.step, " ", seconds_text(elapsed));
    if (running.bytes) status += " " + human_bytes(running.bytes);
  }
  if (status.size() > 150) status = status.substr(0, 147) + "...";
  log::raw("\r\033[K" + status);
  status_shown_ = true;
}

void ProgressView::print_locked(std::string_view line) {
  clear_status_locked();
  log::raw(std::string(line) + "\n");
  redraw_locked();
}

void ProgressView::stage_started(const std::string& stage, std::string_view base) {
  nlohmann::json event = {{"event", "stage"}, {"stage", stage}, {"status", "started"}, {"base", base}};
  std::lock_guard lock(mutex_);
  if (mode_ == Progress::json) return log::event(event, {});
  running_[stage] = {"base", std::chrono::steady_clock::now(), 0};
  print_locked(cat("[", stage, "] from ", base));
}

void ProgressView::stage_finished(const std::string& stage, double seconds) {
  nlohmann::json event = {{"event", "stage"}, {"stage", stage}, {"status", "finished"}, {"seconds", seconds}};
  std::lock_guard lock(mutex_);
  running_.erase(stage);
  if (mode_ == Progress::json) return log::event(event, {});
  print_locked(cat("[", stage, "] done in ", seconds_text(seconds)));
}

void ProgressView::step_started(const std::string& stage, std::size_t number, std::size_t count,
                                std::string_view text) {
  std::lock_guard lock(mutex_);
  if (mode_ == Progress::json) {
    log::event({{"event", "step"}, {"stage", stage}, {"step", number}, {"of", count},
                {"status", "started"}, {"text", text}}, {});
    return;
  }
  running_[stage] = {cat(number, "/", count, " ", summarize(text)), std::chrono::steady_clock::now(), 0};
  redraw_locked();
}

void ProgressView::step_output(const std::string& stage, std::size_t number, std::string_view line) {
  std::lock_guard lock(mutex_);
  if (mode_ == Progress::json) {
    log::event({{"event", "output"}, {"stage", stage}, {"step", number}, {"line", line}}, {});
    return;
  }
  print_locked(cat("[", stage, "/", number, "] ", line));
}

void ProgressView::step_finished(const std::string& stage, std::size_t number, std::size_t count,
                                 std::string_view text, CacheOutcome outcome, double seconds,
                                 std::string_view detail) {
  std::lock_guard lock(mutex_);
  if (mode_ == Progress::json) {
    nlohmann::json event = {{"event", "step"}, {"stage", stage}, {"step", number}, {"of", count},
                            {"status", "finished"}, {"cache", outcome_name(outcome)},
                            {"seconds", seconds}, {"text", text}};
    if (!detail.empty()) event["detail"] = detail;
    log::event(event, {});
    return;
  }
  std::string line = cat("[", stage, " ", number, "/", count, "] ", summarize(text), " ... ",
                         outcome_name(outcome), " ", seconds_text(seconds));
  if (!detail.empty()) line += cat(" (", detail, ")");
  if (auto it = running_.find(stage); it != running_.end()) it->second.bytes = 0;
  print_locked(line);
}

void ProgressView::step_bytes(const std::string& stage, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  if (auto it = running_.find(stage); it != running_.end()) it->second.bytes = bytes;
}

void ProgressView::message(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (mode_ == Progress::json) {
    log::event({{"event", "log"}, {"level", "info"}, {"message", text}}, {});
    return;
  }
  print_locked(cat("imgbuild: ", text));
}

}  // namespace imgbuild::build
