// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::context {

// One compiled pattern of an ignore file; see IgnoreRules for the syntax.
struct IgnorePattern {
  std::string text;        // the pattern after trimming and cleaning, without '!'
  bool exception = false;  // the line started with '!'
  std::size_t line = 0;    // 1-based line in the ignore file

  // A compiled pattern element.
  struct Token {
    enum class Kind {
      literal,       // `text` byte for byte
      any_char,      // `?`: one byte other than '/'
      char_class,    // `[...]`: one byte other than '/' in (or, negated, not in) `text`
      star,          // `*`: any run of bytes other than '/'
      any_dirs,      // `**/`: zero or more whole directories
      any_path,      // `**` elsewhere: any run of bytes, '/' included
      trailing_deep, // `/**` at the end: nothing, or '/' and anything
    };
    Kind kind = Kind::literal;
    std::string text;  // literal bytes, or the class members with ranges expanded
    bool negated = false;
  };
  std::vector<Token> tokens;
};

// The rules of a `.imgbuildignore` or `.dockerignore` file, with Docker's
// semantics: patterns are anchored at the context root, `*` and `?` do not
// match '/', `**` matches any number of directories, `[...]` is a character
// class, `\` escapes the next character. A path is excluded when it or one of
// its parents matches; the last matching line wins, and a line starting with
// '!' re-includes. Only a '#' in column 0 starts a comment.
class IgnoreRules {
 public:
  IgnoreRules() = default;

  // Parses ignore-file text; `file_name` appears in errors as
  // "FILE:LINE: invalid pattern '...': ...".
  static IgnoreRules parse(std::string_view text, std::string_view file_name);

  // True when the context-relative, '/'-separated `path` is left out.
  bool excluded(std::string_view path) const;

  // True when the excluded directory `directory` must still be walked because
  // a later '!' line could match a path below it.
  bool walk_below(std::string_view directory) const;

  bool empty() const { return patterns_.empty(); }
  const std::vector<IgnorePattern>& patterns() const { return patterns_; }
  // The file the rules came from, for messages ("" when there was none).
  const std::string& file_name() const { return file_name_; }

 private:
  // Index of the last pattern that matches `path` or one of its parents.
  std::optional<std::size_t> last_match(std::string_view path) const;

  std::vector<IgnorePattern> patterns_;
  std::string file_name_;
};

// Matches `path` against one pattern (no parent check). With `prefix_only`
// it returns instead whether some path below the directory `path` could match.
bool pattern_matches(const IgnorePattern& pattern, std::string_view path, bool prefix_only = false);

// Loads the ignore file of a context directory: `named` when given (relative
// names are taken inside `context_dir`), else `.imgbuildignore` when present,
// else `.dockerignore`. Returns empty rules when there is none.
IgnoreRules load_ignore_rules(const std::filesystem::path& context_dir,
                              const std::optional<std::filesystem::path>& named = std::nullopt);

}  // namespace imgbuild::context
