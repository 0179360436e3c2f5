// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild {

enum class Stream { out, err };

struct ProcessOptions {
  std::filesystem::path working_directory;       // empty: inherit
  std::optional<std::vector<std::string>> env;   // "K=V" entries; nothing: inherit
  std::vector<std::string> extra_env;            // added to the inherited or given env
  std::optional<std::string> stdin_data;         // nothing: /dev/null
  bool capture = true;                           // keep stdout and stderr in the result
  // Called with each complete output line (without the newline) as it arrives.
  std::function<void(Stream, std::string_view)> on_line;
};

struct ProcessResult {
  int exit_code = -1;  // 128 + N when killed by signal N
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is looked up in PATH) and waits for it. The child gets
// the default signal mask even though imgbuild blocks SIGINT and SIGTERM.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Runs `argv` and throws Error with the command, exit code and the tail of
// stderr when it exits non-zero. Returns stdout.
std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Returns the full path of `program` in PATH, or nothing.
std::optional<std::filesystem::path> find_program(std::string_view program);

// Returns the last `lines` lines of `text`, for error messages.
std::string tail_lines(std::string_view text, std::size_t lines);

}  // namespace imgbuild
