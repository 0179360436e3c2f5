// SPDX-License-Identifier: Apache-2.0
// The inputs side of Debian bases: checking them, the sources.list lines and
// mmdebstrap arguments they lead to, architecture names and the cache key.
#include "base/debian_inputs.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <nlohmann/json.hpp>

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {
namespace {

// Bump when the rootfs finishing or the layer form changes, so cached bases
// made by older code are rebuilt.
constexpr int debian_base_format = 1;

constexpr const char* file_mirror_hook_dir = "/usr/share/mmdebstrap/hooks/file-mirror-automount";

struct ArchitectureName {
  const char* debian;
  const char* oci;
  const char* variant;
};

// Debian ports that publish images, with their OCI names (from the OCI image
// index spec's GOARCH values).
constexpr std::array<ArchitectureName, 9> architecture_names{{
    {"amd64", "amd64", ""},
    {"arm64", "arm64", "v8"},
    {"armhf", "arm", "v7"},
    {"armel", "arm", "v5"},
    {"i386", "386", ""},
    {"ppc64el", "ppc64le", ""},
    {"s390x", "s390x", ""},
    {"riscv64", "riscv64", ""},
    {"mips64el", "mips64le", ""},
}};

// Variants that mmdebstrap 1.3 accepts for --variant.
constexpr std::array<std::string_view, 10> known_variants{
    "extract", "custom", "essential", "apt", "required", "minbase", "buildd", "important", "debootstrap", "standard"};

// Suites without -updates and -security companions.
constexpr std::array<std::string_view, 4> rolling_suites{"sid", "unstable", "experimental", "rc-buggy"};

bool only_chars(std::string_view text, std::string_view allowed_punctuation) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || allowed_punctuation.find(c) != std::string_view::npos;
  });
}

bool is_snapshot_timestamp(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return false;
  for (std::size_t i = 0; i < 15; ++i)
    if (i != 8 && (text[i] < '0' || text[i] > '9')) return false;
  return true;
}

// The archive the suite lines use, with a trailing slash removed.
std::string archive_url(const DebianBase& base) {
  std::string url;
  if (base.mirror)
    url = *base.mirror;
  else if (base.snapshot)
    url = cat(snapshot_archive_root, "debian/", *base.snapshot, "/");
  else
    url = default_debian_mirror;
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

// The security archive that belongs to `archive`, or nothing when it cannot
// be derived from the URL.
std::optional<std::string> security_url(const DebianBase& base, const std::string& archive) {
  if (base.snapshot && !base.mirror) return cat(snapshot_archive_root, "debian-security/", *base.snapshot);
  if (ends_with(archive, "/debian")) return archive + "-security";
  return std::nullopt;
}

}  // namespace

void check_debian_base(const DebianBase& base) {
  if (base.suite.empty() || !only_chars(base.suite, "-."))
    fail_with(ExitCode::usage, "invalid debian suite ", quote(base.suite),
              ": use a codename such as 'bookworm'");
  if (std::find(known_variants.begin(), known_variants.end(), base.variant) == known_variants.end())
    fail_with(ExitCode::usage, "unknown debian variant ", quote(base.variant),
              ": use one of mmdebstrap's variants, for example 'minbase'");
  for (const auto& package : base.packages) {
    // Names, "name=version" and "name:arch" as apt accepts them. Commas and
    // spaces are rejected because mmdebstrap splits --include on them.
    if (package.empty() || !only_chars(package, "+-.:=~"))
      fail_with(ExitCode::usage, "invalid debian package name ", quote(package),
                ": use one package per list entry, as NAME, NAME=VERSION or NAME:ARCH");
  }
  if (base.architecture && (base.architecture->empty() || !only_chars(*base.architecture, "")))
    fail_with(ExitCode::usage, "invalid debian architecture ", quote(*base.architecture));
  if (base.snapshot && !is_snapshot_timestamp(*base.snapshot))
    fail_with(ExitCode::usage, "invalid debian snapshot ", quote(*base.snapshot),
              ": use the snapshot.debian.org form YYYYMMDDTHHMMSSZ, for example 20241201T000000Z");
  if (base.mirror && base.mirror->find("://") == std::string::npos)
    fail_with(ExitCode::usage, "invalid debian mirror ", quote(*base.mirror), ": use a URL such as ",
              default_debian_mirror);
  for (const auto& line : base.sources) {
    if (!starts_with(line, "deb ") && !starts_with(line, "deb-src "))
      fail_with(ExitCode::usage, "invalid debian source ", quote(line),
                ": use a one-line sources.list entry starting with 'deb '");
    if (line.find('\n') != std::string::npos)
      fail_with(ExitCode::usage, "invalid debian source ", quote(line), ": give one entry per line");
  }
}

std::vector<std::string> debian_source_lines(const DebianBase& base) {
  // snapshot.debian.org serves Release files whose Valid-Until has passed.
  const std::string options = base.snapshot ? "[check-valid-until=no] " : "";
  const std::string archive = archive_url(base);

  std::vector<std::string> lines{cat("deb ", options, archive, " ", base.suite, " main")};
  bool rolling = std::find(rolling_suites.begin(), rolling_suites.end(), base.suite) != rolling_suites.end();
  if (!rolling) {
    lines.push_back(cat("deb ", options, archive, " ", base.suite, "-updates main"));
    // NOTE: a mirror URL that does not end in /debian gets no security line,
    // because its security archive cannot be guessed; add it to `sources`.
    if (auto security = security_url(base, archive))
      lines.push_back(cat("deb ", options, *security, " ", base.suite, "-security main"));
  }

  lines.insert(lines.end(), base.sources.begin(), base.sources.end());
  return lines;
}

std::vector<std::string> file_source_paths(const DebianBase& base) {
  std::vector<std::string> paths;
  for (const auto& line : base.sources) {
    // Options in brackets may contain spaces, so skip past them first.
    std::string_view rest = line;
    if (auto close = rest.find(']'); rest.find('[') != std::string_view::npos && close != std::string_view::npos)
      rest.remove_prefix(close + 1);
    for (const auto& token : split(rest, ' ')) {
      if (!starts_with(token, "file:")) continue;
      std::string_view path = std::string_view(token).substr(5);
      while (path.size() > 1 && path[0] == '/' && path[1] == '/') path.remove_prefix(1);
      while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
      paths.emplace_back(path);
    }
  }
  return paths;
}

std::vector<std::string> sorted_packages(const DebianBase& base) {
  std::vector<std::string> packages = base.packages;
  std::sort(packages.begin(), packages.end());
  packages.erase(std::unique(packages.begin(), packages.end()), packages.end());
  return packages;
}

std::vector<std::string> mmdebstrap_arguments(const DebianBase& base, std::string_view program,
                                              std::string_view architecture, const fs::path& target) {
  std::vector<std::string> argv{std::string(program), "--variant=" + base.variant,
                                cat("--architectures=", architecture), "--format=directory"};
  auto packages = sorted_packages(base);
  if (!packages.empty()) argv.push_back("--include=" + join(packages, ","));

  // apt runs outside the chroot but passes package paths to dpkg inside it,
  // so a file:// repository must appear at the same path in the chroot.
  // mmdebstrap's hook bind-mounts it there and unmounts it at the end.
  if (!file_source_paths(base).empty()) argv.push_back(cat("--hook-dir=", file_mirror_hook_dir));

  argv.push_back(base.suite);
  argv.push_back(target.string());
  for (auto& line : debian_source_lines(base)) argv.push_back(std::move(line));
  return argv;
}

std::string debian_architecture(const image::Platform& platform) {
  if (platform.os != "linux")
    fail_with(ExitCode::usage, "debian bases need a linux platform, not ", quote(platform.os));
  if (platform.architecture == "arm") {
    // Debian's armel port targets ARMv5 and also runs on v6, but armhf needs ARMv7.
    if (platform.variant == "v5" || platform.variant == "v6") return "armel";
    return "armhf";
  }
  for (const auto& name : architecture_names)
    if (platform.architecture == name.oci) return name.debian;
  fail_with(ExitCode::usage, "no debian architecture for platform ", quote(platform.architecture),
            ": debian builds amd64, arm64, arm, 386, ppc64le, s390x, riscv64 and mips64le");
}

image::Platform oci_platform(std::string_view debian_architecture) {
  for (const auto& name : architecture_names)
    if (debian_architecture == name.debian) return image::Platform{"linux", name.oci, name.variant};
  fail_with(ExitCode::usage, "unknown debian architecture ", quote(debian_architecture),
            ": use a debian port name such as amd64, arm64 or armhf");
}

std::string host_debian_architecture() {
  static std::once_flag once;
  static std::string architecture;
  std::call_once(once, [] {
    architecture = std::string(trim(run_checked({"dpkg", "--print-architecture"})));
  });
  return architecture;
}

std::string debian_cache_key(const DebianBase& base, std::string_view architecture) {
  nlohmann::json components = debian_key_components(base, architecture);
  return sha256_of(components.dump()).hex;
}

nlohmann::json debian_key_components(const DebianBase& base, std::string_view architecture) {
  return {
      {"kind", "debian-base"},
      {"format", debian_base_format},
      {"suite", base.suite},
      {"variant", base.variant},
      {"packages", sorted_packages(base)},
      {"architecture", architecture},
      {"snapshot", base.snapshot.value_or("")},
      {"mirror", archive_url(base)},
      {"sources", base.sources},
  };
}

std::string describe(const DebianBase& base) {
  std::string text = cat("debian ", base.suite);
  if (base.snapshot) text += "@" + *base.snapshot;
  text += " " + base.variant;
  auto packages = sorted_packages(base);
  if (!packages.empty()) text += ": " + join(packages, " ");
  return text;
}

}  // namespace imgbuild::base
