// SPDX-License-Identifier: Apache-2.0
// Parsers for the text formats the catalogue reads: deb822 stanzas (dpkg
// status), RFC 822 headers (Python METADATA and PKG-INFO) and RECORD CSV.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::report::detail {

// Field name in lower case (deb822 names are case-insensitive) -> value,
// continuation lines joined with '\n'.
using Fields = std::map<std::string, std::string>;

// Splits deb822 text into stanzas separated by blank lines.
std::vector<Fields> parse_stanzas(std::string_view text);

// Parses the header block of an RFC 822 style document, up to the first
// blank line (the rest of a METADATA file is the description).
Fields parse_headers(std::string_view text);

// Sums the size column of a Python RECORD file (CSV: path,hash,size); rows
// without a size (RECORD itself, .pyc files) count 0.
std::uint64_t sum_record_sizes(std::string_view text);

// Returns the value of `name` in `fields`, or an empty string.
std::string field(const Fields& fields, const std::string& name);

}  // namespace imgbuild::report::detail
