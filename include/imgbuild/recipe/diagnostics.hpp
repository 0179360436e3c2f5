// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "imgbuild/util/error.hpp"

namespace imgbuild::recipe {

// A place in a recipe file. `file` is the recipe path as the user gave it, so
// messages read "recipes/backend.toml:12:5"; line and column start at 1 and a
// zero line means "no position" (a value set by default).
struct Position {
  std::filesystem::path file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// Formats a position as "FILE:LINE:COL", or just "FILE" without a line.
std::string to_string(const Position& position);

// One validation error found in a recipe.
struct Diagnostic {
  Position position;
  std::string message;
};

// Formats diagnostics the way compilers do: "FILE:LINE:COL: message", then the
// source line indented by four spaces and a caret under the column. `source`
// is the recipe text the positions refer to.
std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics, std::string_view source);

// The error a recipe that does not validate raises: every diagnostic found,
// already formatted with source lines. what() is the summary
// "N errors in FILE"; the exit code is ExitCode::usage.
class RecipeError : public Error {
 public:
  RecipeError(std::filesystem::path file, std::vector<Diagnostic> diagnostics, std::string formatted);

  const std::filesystem::path& file() const noexcept { return file_; }
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }
  // The block printed before the summary line: one entry per diagnostic.
  const std::string& formatted() const noexcept { return formatted_; }

 private:
  std::filesystem::path file_;
  std::vector<Diagnostic> diagnostics_;
  std::string formatted_;
};

}  // namespace imgbuild::recipe
