// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/recipe/values.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {
namespace {

[[noreturn]] void invalid(std::string_view kind, std::string_view text, std::string_view reason) {
  fail_with(ExitCode::usage, "invalid ", kind, " ", quote(text), ": ", reason);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads an unsigned decimal number with an optional fraction at `pos`.
std::optional<double> read_number(std::string_view text, std::size_t& pos) {
  std::size_t start = pos;
  while (pos < text.size() && (is_digit(text[pos]) || text[pos] == '.')) ++pos;
  if (pos == start) return std::nullopt;
  std::string digits(text.substr(start, pos - start));
  if (digits.find('.') != digits.rfind('.') || digits == ".") return std::nullopt;
  return std::stod(digits);
}

std::optional<std::uint64_t> to_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::int64_t parse_duration(std::string_view text) {
  struct Unit {
    std::string_view name;
    double nanoseconds;
  };
  // Longest names first so "ms" is not read as "m" followed by "s".
  static constexpr std::array<Unit, 7> units{{{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                                              {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}};
  if (text.empty()) invalid("duration", text, "it is empty; write a number with a unit: 500ms, 30s, 1m30s");

  double total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::optional<double> number = read_number(text, pos);
    if (!number) invalid("duration", text, "expected a number; write a number with a unit: 500ms, 30s, 1m30s");
    std::size_t unit_start = pos;
    while (pos < text.size() && !is_digit(text[pos]) && text[pos] != '.') ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    const Unit* found = nullptr;
    for (const Unit& candidate : units)
      if (candidate.name == unit) found = &candidate;
    if (!found) {
      if (unit.empty()) invalid("duration", text, "a number needs a unit: ns, us, ms, s, m or h");
      invalid("duration", text, cat("unknown unit ", quote(unit), "; use ns, us, ms, s, m or h"));
    }
    total += *number * found->nanoseconds;
  }
  if (total > static_cast<double>(std::numeric_limits<std::int64_t>::max()))
    invalid("duration", text, "it is longer than 292 years");
  return static_cast<std::int64_t>(std::llround(total));
}

std::uint64_t parse_size(std::string_view text) {
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr std::array<Unit, 10> units{{{"B", 1},
                                               {"kB", 1e3},
                                               {"KB", 1e3},
                                               {"MB", 1e6},
                                               {"GB", 1e9},
                                               {"TB", 1e12},
                                               {"KiB", 1024.0},
                                               {"MiB", 1024.0 * 1024},
                                               {"GiB", 1024.0 * 1024 * 1024},
                                               {"TiB", 1024.0 * 1024 * 1024 * 1024}}};
  std::string_view trimmed = trim(text);
  std::size_t pos = 0;
  std::optional<double> number = read_number(trimmed, pos);
  if (!number) invalid("size", text, "expected a number and a unit, such as 150MB or 1.5GiB");
  std::string_view unit = trim(trimmed.substr(pos));
  for (const Unit& candidate : units) {
    if (candidate.name != unit) continue;
    double bytes = *number * candidate.bytes;
    if (bytes >= 1.8e19) invalid("size", text, "it is too large");
    return static_cast<std::uint64_t>(bytes);
  }
  if (unit.empty()) invalid("size", text, "a number needs a unit: B, kB, MB, GB, TB, KiB, MiB, GiB or TiB");
  invalid("size", text, cat("unknown unit ", quote(unit), "; use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB"));
}

std::vector<std::string> parse_port(std::string_view text) {
  std::string_view range = text;
  std::string protocol = "tcp";
  if (std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    range = text.substr(0, slash);
    protocol = std::string(text.substr(slash + 1));
    if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
      invalid("port", text, cat("unknown protocol ", quote(protocol), "; use tcp, udp or sctp"));
  }

  std::string_view first_text = range, last_text = range;
  if (std::size_t dash = range.find('-'); dash != std::string_view::npos) {
    first_text = range.substr(0, dash);
    last_text = range.substr(dash + 1);
  }
  std::optional<std::uint64_t> first = to_unsigned(first_text), last = to_unsigned(last_text);
  if (!first || !last) invalid("port", text, "expected PORT[/PROTOCOL] or FIRST-LAST[/PROTOCOL], such as 8000/tcp");
  if (*first < 1 || *last > 65535) invalid("port", text, "ports are 1 to 65535");
  if (*first > *last) invalid("port", text, "the range ends before it starts");

  std::vector<std::string> ports;
  for (std::uint64_t port = *first; port <= *last; ++port) ports.push_back(cat(port, "/", protocol));
  return ports;
}

std::uint32_t parse_mode(std::string_view text) {
  if (text.empty() || text.size() > 5) invalid("mode", text, "expected 1 to 5 octal digits up to 07777, such as \"0644\"");
  std::uint32_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') invalid("mode", text, "expected octal digits 0-7, such as \"0644\"");
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (mode > 07777) invalid("mode", text, "the largest mode is 07777");
  return mode;
}

namespace {

// Checks one side of an owner: a numeric id below 2^32-1 or a POSIX-portable
// user or group name (letters, digits, '.', '_', '-', not starting with '-').
void check_owner_part(std::string_view part, std::string_view text, std::string_view what) {
  if (part.empty()) invalid("owner", text, cat("the ", what, " is empty; write \"uid:gid\", \"name\" or \"name:group\""));
  if (std::optional<std::uint64_t> id = to_unsigned(part)) {
    if (*id >= 0xffffffffu) invalid("owner", text, cat("the ", what, " id is larger than 4294967294"));
    return;
  }
  // Samba machine accounts end in '$'.
  std::string_view name = part.ends_with('$') ? part.substr(0, part.size() - 1) : part;
  bool valid = !name.empty() && name.front() != '-' && part.size() <= 32;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_' || c == '-';
    valid = valid && ok;
  }
  if (!valid)
    invalid("owner", text, cat("the ", what, " ", quote(part), " is neither a number nor a valid name"));
}

}  // namespace

Owner parse_owner(std::string_view text) {
  Owner owner;
  std::size_t colon = text.find(':');
  owner.user = std::string(text.substr(0, colon));
  check_owner_part(owner.user, text, "user");
  if (colon != std::string_view::npos) {
    owner.group = std::string(text.substr(colon + 1));
    check_owner_part(*owner.group, text, "group");
  }
  return owner;
}

std::vector<std::string> parse_platform(std::string_view text) {
  std::vector<std::string> parts = split(text, '/');
  bool valid = parts.size() == 2 || parts.size() == 3;
  for (const std::string& part : parts) {
    valid = valid && !part.empty();
    for (char c : part) valid = valid && ((c >= 'a' && c <= 'z') || is_digit(c) || c == '_');
  }
  if (!valid) invalid("platform", text, "expected OS/ARCH or OS/ARCH/VARIANT in lower case, such as linux/amd64 or linux/arm64/v8");
  return parts;
}

Output parse_output(std::string_view text, const std::filesystem::path& base_dir) {
  Output output;
  auto resolve = [&](std::string_view path) {
    if (path.empty()) invalid("output", text, "the path is empty");
    return (base_dir / std::filesystem::path(path)).lexically_normal().string();
  };

  if (text.starts_with("docker://")) {
    output.transport = Output::Transport::docker;
    output.destination = std::string(text.substr(9));
    parse_image_reference(output.destination);
  } else if (text.starts_with("oci-archive:")) {
    output.transport = Output::Transport::oci_archive;
    output.destination = resolve(text.substr(12));
  } else if (text.starts_with("docker-archive:")) {
    output.transport = Output::Transport::docker_archive;
    output.destination = resolve(text.substr(15));
  } else if (text.starts_with("oci:")) {
    output.transport = Output::Transport::oci;
    std::string_view rest = text.substr(4);
    // A tag never contains '/', so a colon followed by one belongs to the path.
    std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
      output.tag = std::string(rest.substr(colon + 1));
      check_tag(*output.tag);
      rest = rest.substr(0, colon);
    }
    output.destination = resolve(rest);
  } else {
    invalid("output", text, "expected oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REF");
  }
  return output;
}

ImageFormat parse_image_format(std::string_view text) {
  if (text == "oci") return ImageFormat::oci;
  if (text == "docker") return ImageFormat::docker;
  invalid("format", text, "use oci or docker");
}

Compression parse_compression(std::string_view text) {
  if (text == "gzip") return Compression::gzip;
  if (text == "zstd") return Compression::zstd;
  invalid("compression", text, "use gzip or zstd");
}

Network parse_network(std::string_view text) {
  if (text == "host") return Network::host;
  if (text == "none") return Network::none;
  invalid("network", text, "use host or none");
}

void check_signal(std::string_view text) {
  static const std::vector<std::string> names = {
      "HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT",   "BUS",  "FPE",   "KILL", "USR1",   "SEGV",
      "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
      "URG",  "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"};
  if (std::optional<std::uint64_t> number = to_unsigned(text)) {
    if (*number >= 1 && *number <= 64) return;
    invalid("stop signal", text, "signal numbers are 1 to 64");
  }
  std::string_view name = text.starts_with("SIG") ? text.substr(3) : text;
  for (const std::string& known : names)
    if (name == known) return;
  if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) return;
  std::string hint;
  if (std::optional<std::string> close = nearest(name, names)) hint = cat("; did you mean ", quote("SIG" + *close), "?");
  invalid("stop signal", text, cat("expected a name such as SIGTERM or a number 1-64", hint));
}

}  // namespace imgbuild::recipe
