// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/diagnostics.hpp"

#include <cstdio>

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

// Returns the text shown for each code point of `line`: the code point
// itself, or "\xNN" per byte for bytes that are not valid UTF-8 and for
// control characters (C0 other than tab, DEL and C1). A binary file thus
// cannot send raw bytes or terminal escapes to the terminal. When anything
// is escaped, '\' shows as "\\" so escapes and recipe text stay apart.
std::vector<std::string> shown_code_points(std::string_view line) {
  auto escape = [](std::string_view bytes) {
    std::string out;
    for (unsigned char byte : bytes) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", byte);
      out += buffer;
    }
    return out;
  };
  std::vector<std::string> pieces;
  bool escaped = false;
  for (std::size_t i = 0; i < line.size();) {
    std::size_t length = utf8_sequence_length(line, i);
    std::string_view code_point = line.substr(i, length == 0 ? 1 : length);
    auto lead = static_cast<unsigned char>(code_point[0]);
    auto second = code_point.size() > 1 ? static_cast<unsigned char>(code_point[1]) : 0;
    bool control = (lead < 0x20 && lead != '\t') || lead == 0x7f || (lead == 0xc2 && second < 0xa0);
    if (length == 0 || control) {
      pieces.push_back(escape(code_point));
      escaped = true;
    } else {
      pieces.emplace_back(code_point);
    }
    i += code_point.size();
  }
  if (escaped)
    for (std::string& piece : pieces)
      if (piece == "\\") piece = "\\\\";
  return pieces;
}

// Returns the indentation that puts a caret under `column` (1-based, in code
// points as toml++ counts them) of a line shown as `pieces`. Tabs are kept so
// the caret lines up however the terminal expands them.
std::string caret_padding(const std::vector<std::string>& pieces, std::uint32_t column) {
  std::string padding;
  for (std::size_t i = 0; i + 1 < column && i < pieces.size(); ++i) {
    if (pieces[i] == "\t") {
      padding += '\t';
      continue;
    }
    for (char c : pieces[i])
      if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) padding += ' ';
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
    std::vector<std::string> pieces = shown_code_points(line);
    out += "    " + join(pieces, "") + "\n";
    out += "    " + caret_padding(pieces, diagnostic.position.column) + "^\n";
  }
  return out;
}

RecipeError::RecipeError(std::filesystem::path file, std::vector<Diagnostic> diagnostics, std::string formatted)
    : Error(summary(file, diagnostics.size()), ExitCode::usage),
      file_(std::move(file)),
      diagnostics_(std::move(diagnostics)),
      formatted_(std::move(formatted)) {}

}  // namespace imgbuild::recipe
