// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/ignore.hpp"

#include <functional>
#include <system_error>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

using Token = IgnorePattern::Token;
using Kind = Token::Kind;

// Lexically cleans a pattern the way Go's filepath.Clean does (repeated
// slashes, "." and "dir/.." collapse), then drops one leading and any
// trailing '/', so "/foo/bar/" and "foo//bar" both mean "foo/bar".
std::string clean_pattern(std::string_view pattern) {
  std::vector<std::string> parts;
  for (const std::string& part : split(pattern, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return join(parts, "/");
}

[[noreturn]] void invalid(std::string_view file, std::size_t line, std::string_view pattern,
                          std::string_view reason) {
  fail_with(ExitCode::usage, file, ":", line, ": invalid pattern ", quote(pattern), ": ", reason,
            "; escape special characters with '\\' or fix the line");
}

// Parses the class after '[' at `pos`; returns the position after ']'.
std::size_t parse_class(std::string_view text, std::size_t pos, Token& token,
                        const std::function<void(std::string_view)>& error) {
  if (pos < text.size() && (text[pos] == '!' || text[pos] == '^')) {
    token.negated = true;
    ++pos;
  }
  bool first = true;
  while (true) {
    if (pos >= text.size()) error("unterminated '['");
    char c = text[pos];
    if (c == ']' && !first) return pos + 1;
    first = false;
    if (c == '\\') {
      if (++pos >= text.size()) error("'\\' at the end of the pattern");
      c = text[pos];
    }
    ++pos;
    if (pos + 1 < text.size() && text[pos] == '-' && text[pos + 1] != ']') {
      char high = text[pos + 1];
      pos += 2;
      if (high == '\\') {
        if (pos >= text.size()) error("'\\' at the end of the pattern");
        high = text[pos++];
      }
      if (static_cast<unsigned char>(high) < static_cast<unsigned char>(c))
        error(cat("invalid range '", c, "-", high, "'"));
      for (int byte = static_cast<unsigned char>(c); byte <= static_cast<unsigned char>(high); ++byte)
        token.text.push_back(static_cast<char>(byte));
      continue;
    }
    token.text.push_back(c);
  }
}

void add_literal(std::vector<Token>& tokens, char c) {
  if (tokens.empty() || tokens.back().kind != Kind::literal) tokens.push_back({Kind::literal, "", false});
  tokens.back().text.push_back(c);
}

// Turns a `**` at `pos` (pointing at the first '*') into a token; returns
// the position after what it consumed.
std::size_t add_double_star(std::vector<Token>& tokens, std::string_view text, std::size_t pos) {
  bool after_slash = pos == 0 || text[pos - 1] == '/';
  std::size_t end = pos + 2;
  if (after_slash && end < text.size() && text[end] == '/') {
    tokens.push_back({Kind::any_dirs, "", false});
    return end + 1;
  }
  bool at_end = end == text.size();
  if (after_slash && at_end && pos > 0 && !tokens.empty() && tokens.back().kind == Kind::literal) {
    tokens.back().text.pop_back();  // the '/' before `**` belongs to the token
    if (tokens.back().text.empty()) tokens.pop_back();
    tokens.push_back({Kind::trailing_deep, "", false});
    return end;
  }
  tokens.push_back({Kind::any_path, "", false});
  return end;
}

std::vector<Token> compile(std::string_view text, const std::function<void(std::string_view)>& error) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '*' && pos + 1 < text.size() && text[pos + 1] == '*') {
      pos = add_double_star(tokens, text, pos);
    } else if (c == '*') {
      tokens.push_back({Kind::star, "", false});
      ++pos;
    } else if (c == '?') {
      tokens.push_back({Kind::any_char, "", false});
      ++pos;
    } else if (c == '[') {
      Token token{Kind::char_class, "", false};
      pos = parse_class(text, pos + 1, token, error);
      tokens.push_back(std::move(token));
    } else if (c == '\\') {
      if (pos + 1 >= text.size()) error("'\\' at the end of the pattern");
      add_literal(tokens, text[pos + 1]);
      pos += 2;
    } else {
      add_literal(tokens, c);
      ++pos;
    }
  }
  return tokens;
}

bool in_class(const Token& token, char c) {
  bool member = token.text.find(c) != std::string::npos;
  return member != token.negated;
}

// Backtracking matcher. In `prefix` mode running out of text counts as a
// match: the pattern could still match something below it.
bool match_at(const std::vector<Token>& tokens, std::size_t ti, std::string_view s, std::size_t si,
              bool prefix) {
  while (true) {
    if (prefix && si == s.size()) return true;
    if (ti == tokens.size()) return si == s.size();
    const Token& token = tokens[ti];
    switch (token.kind) {
      case Kind::literal: {
        std::string_view rest = s.substr(si);
        if (rest.starts_with(token.text)) {
          si += token.text.size();
          ++ti;
          continue;
        }
        return prefix && std::string_view(token.text).starts_with(rest);
      }
      case Kind::any_char:
      case Kind::char_class:
        if (si == s.size() || s[si] == '/') return false;
        if (token.kind == Kind::char_class && !in_class(token, s[si])) return false;
        ++si;
        ++ti;
        continue;
      case Kind::star:
        for (std::size_t k = si;; ++k) {
          if (match_at(tokens, ti + 1, s, k, prefix)) return true;
          if (k == s.size() || s[k] == '/') return false;
        }
      case Kind::any_dirs:
        if (match_at(tokens, ti + 1, s, si, prefix)) return true;
        for (std::size_t k = si; k < s.size(); ++k)
          if (s[k] == '/' && match_at(tokens, ti + 1, s, k + 1, prefix)) return true;
        return false;
      case Kind::any_path:
        for (std::size_t k = si; k <= s.size(); ++k)
          if (match_at(tokens, ti + 1, s, k, prefix)) return true;
        return false;
      case Kind::trailing_deep:
        return si == s.size() || s[si] == '/';
    }
  }
}

}  // namespace

bool pattern_matches(const IgnorePattern& pattern, std::string_view path, bool prefix_only) {
  if (!prefix_only) return match_at(pattern.tokens, 0, path, 0, false);
  std::string below = std::string(path) + "/";
  return match_at(pattern.tokens, 0, below, 0, true);
}

IgnoreRules IgnoreRules::parse(std::string_view text, std::string_view file_name) {
  IgnoreRules rules;
  rules.file_name_ = std::string(file_name);
  std::size_t line_number = 0;
  for (const std::string& raw_line : split(text, '\n')) {
    ++line_number;
    if (!raw_line.empty() && raw_line[0] == '#') continue;
    std::string_view line = trim(raw_line);
    if (line.empty()) continue;

    IgnorePattern pattern;
    pattern.line = line_number;
    if (line[0] == '!') {
      pattern.exception = true;
      line = trim(line.substr(1));
      if (line.empty()) invalid(file_name, line_number, "!", "'!' needs a pattern after it");
    }
    pattern.text = clean_pattern(line);
    if (pattern.text.empty()) continue;  // "/" or "." alone: Docker ignores it too

    std::string original(line);
    pattern.tokens = compile(pattern.text, [&](std::string_view reason) {
      invalid(file_name, line_number, original, reason);
    });
    rules.patterns_.push_back(std::move(pattern));
  }
  return rules;
}

std::optional<std::size_t> IgnoreRules::last_match(std::string_view path) const {
  std::optional<std::size_t> last;
  for (std::size_t i = 0; i < patterns_.size(); ++i) {
    bool matched = pattern_matches(patterns_[i], path);
    for (std::size_t k = 0; !matched && k < path.size(); ++k)
      if (path[k] == '/') matched = pattern_matches(patterns_[i], path.substr(0, k));
    if (matched) last = i;
  }
  return last;
}

bool IgnoreRules::excluded(std::string_view path) const {
  if (path.empty()) return false;  // the context root itself is always there
  std::optional<std::size_t> last = last_match(path);
  return last && !patterns_[*last].exception;
}

bool IgnoreRules::walk_below(std::string_view directory) const {
  std::optional<std::size_t> last = last_match(directory);
  if (!last || patterns_[*last].exception) return true;
  for (std::size_t i = *last + 1; i < patterns_.size(); ++i)
    if (patterns_[i].exception && pattern_matches(patterns_[i], directory, true)) return true;
  return false;
}

IgnoreRules load_ignore_rules(const std::filesystem::path& context_dir,
                              const std::optional<std::filesystem::path>& named) {
  if (named) {
    std::filesystem::path file = named->is_absolute() ? *named : context_dir / *named;
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error))
      fail_with(ExitCode::usage, "ignore file ", quote(file.string()),
                " not found; create it or drop the ignore-file setting");
    return IgnoreRules::parse(read_file(file), named->string());
  }
  for (const char* name : {".imgbuildignore", ".dockerignore"}) {
    std::error_code error;
    std::filesystem::path file = context_dir / name;
    if (std::filesystem::is_regular_file(file, error)) return IgnoreRules::parse(read_file(file), name);
  }
  return {};
}

}  // namespace imgbuild::context
