// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/expand.hpp"

#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {
namespace {

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

class Expander {
 public:
  Expander(std::string_view text, const Lookup& lookup) : text_(text), lookup_(lookup) {}

  // Expands from the current position to the end of the text, or in a
  // ${NAME:-word} word up to its closing '}'.
  std::string expand_rest(bool in_word) {
    std::string out;
    while (pos_ < text_.size() && !(in_word && text_[pos_] == '}')) {
      char c = text_[pos_];
      if (c == '\\' && pos_ + 1 < text_.size() && (text_[pos_ + 1] == '$' || text_[pos_ + 1] == '\\')) {
        out += text_[pos_ + 1];
        pos_ += 2;
      } else if (c == '$') {
        out += expand_reference();
      } else {
        out += c;
        ++pos_;
      }
    }
    return out;
  }

  bool at_end() const { return pos_ >= text_.size(); }

 private:
  // Expands the reference starting at the '$' under pos_.
  std::string expand_reference() {
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '{') return expand_braced();
    std::size_t start = pos_;
    if (pos_ < text_.size() && is_name_start(text_[pos_])) {
      while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
      return value_of(text_.substr(start, pos_ - start));
    }
    return "$";  // a '$' not followed by a name stays as it is
  }

  std::string expand_braced() {
    std::size_t open = pos_ - 1;
    ++pos_;
    std::size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    std::string_view name = text_.substr(start, pos_ - start);
    if (pos_ >= text_.size()) unterminated(open);
    if (name.empty() || !is_name_start(name.front()))
      fail_with(ExitCode::usage, "bad substitution in ", quote(text_), ": ${ must be followed by a variable name");

    if (text_[pos_] == '}') {
      ++pos_;
      return value_of(name);
    }
    if (text_[pos_] != ':' || pos_ + 1 >= text_.size() || (text_[pos_ + 1] != '-' && text_[pos_ + 1] != '+'))
      fail_with(ExitCode::usage, "bad substitution in ", quote(text_), ": after ${", name,
                " only '}', ':-word}' and ':+word}' are supported");
    char op = text_[pos_ + 1];
    pos_ += 2;
    std::string word = expand_rest(true);
    if (at_end()) unterminated(open);
    ++pos_;

    std::string value = value_of(name);
    if (op == '-') return value.empty() ? word : value;
    return value.empty() ? std::string() : word;
  }

  [[noreturn]] void unterminated(std::size_t open) const {
    fail_with(ExitCode::usage, "unterminated ${ at offset ", open, " in ", quote(text_), "; add the closing '}'");
  }

  std::string value_of(std::string_view name) const { return lookup_(name).value_or(""); }

  std::string_view text_;
  const Lookup& lookup_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string expand(std::string_view text, const Lookup& lookup) {
  Expander expander(text, lookup);
  return expander.expand_rest(false);
}

std::optional<std::string> find_env(const EnvList& env, std::string_view name) {
  for (const auto& [key, value] : env)
    if (key == name) return value;
  return std::nullopt;
}

void set_env(EnvList& env, std::string name, std::string value) {
  for (auto& [key, current] : env) {
    if (key == name) {
      current = std::move(value);
      return;
    }
  }
  env.emplace_back(std::move(name), std::move(value));
}

void apply_env_step(EnvList& env, const std::vector<EnvVar>& step, const Lookup& fallback) {
  const EnvList before = env;
  Lookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (std::optional<std::string> value = find_env(before, name)) return value;
    return fallback ? fallback(name) : std::nullopt;
  };
  for (const EnvVar& var : step) set_env(env, var.name, expand(var.value, lookup));
}

}  // namespace imgbuild::recipe
