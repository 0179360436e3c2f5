// SPDX-License-Identifier: Apache-2.0
#include "report/control.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "imgbuild/util/strings.hpp"

namespace imgbuild::report::detail {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Reads the next line (without '\n' or a trailing '\r') and advances `rest`.
std::string_view next_line(std::string_view& rest) {
  std::size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Adds one "Name: value" or continuation line to `fields`; `last` names the
// field a continuation line belongs to.
void add_line(Fields& fields, std::string& last, std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    if (!last.empty()) fields[last] += "\n" + std::string(trim(line));
    return;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    last.clear();
    return;
  }
  last = lower(trim(line.substr(0, colon)));
  fields[last] = std::string(trim(line.substr(colon + 1)));
}

}  // namespace

std::vector<Fields> parse_stanzas(std::string_view text) {
  std::vector<Fields> stanzas;
  Fields current;
  std::string last;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (trim(line).empty()) {
      if (!current.empty()) stanzas.push_back(std::move(current));
      current.clear();
      last.clear();
      continue;
    }
    if (line.front() == '#') continue;
    add_line(current, last, line);
  }
  if (!current.empty()) stanzas.push_back(std::move(current));
  return stanzas;
}

Fields parse_headers(std::string_view text) {
  Fields fields;
  std::string last;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (trim(line).empty()) break;
    add_line(fields, last, line);
  }
  return fields;
}

namespace {

// Splits one CSV row as Python's csv module writes it: fields may be quoted,
// and a doubled quote inside quotes is a literal quote.
std::vector<std::string> split_csv_row(std::string_view row) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < row.size(); ++i) {
    char c = row[i];
    if (quoted) {
      if (c == '"' && i + 1 < row.size() && row[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

}  // namespace

std::uint64_t sum_record_sizes(std::string_view text) {
  std::uint64_t total = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (line.empty()) continue;
    std::vector<std::string> cells = split_csv_row(line);
    if (cells.size() < 3 || cells[2].empty()) continue;
    std::uint64_t size = 0;
    const std::string& cell = cells[2];
    auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), size);
    if (error == std::errc{} && end == cell.data() + cell.size()) total += size;
  }
  return total;
}

std::string field(const Fields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string{} : it->second;
}

}  // namespace imgbuild::report::detail
