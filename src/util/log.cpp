// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace imgbuild::log {
namespace {

std::mutex output_mutex;
std::atomic<Format> current_format{Format::plain};
std::atomic<bool> verbose_enabled{false};

void write_line(std::string_view line) {
  std::lock_guard lock(output_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void message(std::string_view level, std::string_view text) {
  if (current_format == Format::json) {
    nlohmann::json object = {{"event", "log"}, {"level", level}, {"message", text}};
    write_line(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string line = "imgbuild: ";
  if (level != "info") line.append(level).append(": ");
  line.append(text);
  write_line(line);
}

}  // namespace

void set_format(Format format) { current_format = format; }
Format format() { return current_format; }
void set_verbose(bool verbose) { verbose_enabled = verbose; }
bool verbose() { return verbose_enabled; }

void info(std::string_view text) { message("info", text); }
void warn(std::string_view text) { message("warning", text); }

void debug(std::string_view text) {
  if (verbose_enabled) message("debug", text);
}

void event(const nlohmann::json& object, std::string_view line) {
  if (current_format == Format::json)
    write_line(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  else if (!line.empty())
    write_line(line);
}

void raw(std::string_view text) {
  std::lock_guard lock(output_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace imgbuild::log
