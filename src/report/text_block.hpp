// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace imgbuild::report::detail {

// Terminal lines with a left column of labels: "size      48 MB ...".
class TextBlock {
 public:
  // Starts a line under `label`.
  void line(std::string_view label, std::string_view text);
  // Adds a line under the previous label.
  void more(std::string_view text) { line("", text); }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

// Shortens "sha256:<64 hex>" to "sha256:<12 hex>" for the terminal.
std::string short_digest(std::string_view digest);

}  // namespace imgbuild::report::detail
