// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/diagnostics.hpp"

#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {
namespace {

// Returns line `number` (1-based) of `source` without its line break.
std::string_view source_line(std::string_view source, std::uint32_t number) {
  std::size_t start = 0;
  for (std::uint32_t line = 1; line < number; ++line) {
    start = source.find('\n', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  std::size_t end = source.find('\n', start);
  std::string_view line = source.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

// Returns the indentation that puts a caret under `column` of `line`.
// Columns count code points, as toml++ does; tabs are kept so the caret
// lines up however the terminal expands them.
std::string caret_padding(std::string_view line, std::uint32_t column) {
  std::string padding;
  std::uint32_t current = 1;
  for (char c : line) {
    bool continuation = (static_cast<unsigned char>(c) & 0xc0) == 0x80;
    if (continuation) continue;
    if (current >= column) break;
    padding += c == '\t' ? '\t' : ' ';
    ++current;
  }
  return padding;
}

std::string summary(const std::filesystem::path& file, std::size_t count) {
  return cat(count, count == 1 ? " error in " : " errors in ", file.string());
}

}  // namespace

std::string to_string(const Position& position) {
  if (position.line == 0) return position.file.string();
  return cat(position.file.string(), ":", position.line, ":", position.column);
}

std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics, std::string_view source) {
  std::string out;
  for (const Diagnostic& diagnostic : diagnostics) {
    out += to_string(diagnostic.position) + ": " + diagnostic.message + "\n";
    if (diagnostic.position.line == 0) continue;
    std::string_view line = source_line(source, diagnostic.position.line);
    if (trim(line).empty()) continue;
    out += "    " + std::string(line) + "\n";
    out += "    " + caret_padding(line, diagnostic.position.column) + "^\n";
  }
  return out;
}

RecipeError::RecipeError(std::filesystem::path file, std::vector<Diagnostic> diagnostics, std::string formatted)
    : Error(summary(file, diagnostics.size()), ExitCode::usage),
      file_(std::move(file)),
      diagnostics_(std::move(diagnostics)),
      formatted_(std::move(formatted)) {}

}  // namespace imgbuild::recipe
