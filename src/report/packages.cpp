// SPDX-License-Identifier: Apache-2.0
#include "report/packages.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"
#include "report/control.hpp"

namespace imgbuild::report {

std::string_view ecosystem_name(Ecosystem ecosystem) {
  return ecosystem == Ecosystem::deb ? "deb" : "python";
}

Ecosystem parse_ecosystem(std::string_view text) {
  if (text == "deb") return Ecosystem::deb;
  if (text == "python") return Ecosystem::python;
  fail("unknown package ecosystem ", quote(text), "; use 'deb' or 'python'");
}

std::string Package::display_name() const {
  if (ecosystem == Ecosystem::deb && !architecture.empty()) return name + ":" + architecture;
  return name;
}

std::string normalize_python_name(std::string_view name) {
  std::string out;
  bool in_separator = false;
  for (unsigned char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      in_separator = true;
      continue;
    }
    if (in_separator && !out.empty()) out += '-';
    in_separator = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

}  // namespace imgbuild::report

namespace imgbuild::report::detail {

namespace {

struct PathParts {
  std::string_view parent;       // "/a/b" for "/a/b/c"
  std::string_view base;         // "c"
  std::string_view parent_base;  // "b"
  std::string_view grandparent_base;
};

std::string_view base_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

PathParts split_path(std::string_view path) {
  PathParts parts;
  parts.parent = parent_of(path);
  parts.base = base_of(path);
  parts.parent_base = base_of(parts.parent);
  parts.grandparent_base = base_of(parent_of(parts.parent));
  return parts;
}

bool is_site_directory(std::string_view name) {
  return name == "site-packages" || name == "dist-packages";
}

Interest classify_python(const PathParts& parts) {
  if (ends_with(parts.parent_base, ".dist-info") && is_site_directory(parts.grandparent_base)) {
    if (parts.base == "METADATA") return Interest::python_metadata;
    if (parts.base == "RECORD") return Interest::python_record;
    if (parts.base == "INSTALLER") return Interest::python_installer;
    return Interest::none;
  }
  if (ends_with(parts.parent_base, ".egg-info") && is_site_directory(parts.grandparent_base) &&
      parts.base == "PKG-INFO")
    return Interest::egg_info_pkg_info;
  if (ends_with(parts.base, ".egg-info") && is_site_directory(parts.parent_base))
    return Interest::egg_info_file;
  return Interest::none;
}

}  // namespace

Interest classify(std::string_view path) {
  if (path == "/var/lib/dpkg/status") return Interest::dpkg_status;
  if (path == "/etc/os-release" || path == "/usr/lib/os-release") return Interest::os_release;
  if (path == "/etc/debian_version") return Interest::debian_version;

  PathParts parts = split_path(path);
  if (parts.parent == "/var/lib/dpkg/status.d")
    return ends_with(parts.base, ".md5sums") ? Interest::none : Interest::dpkg_status_d;
  if (parts.parent == "/var/lib/dpkg/info")
    return ends_with(parts.base, ".list") ? Interest::dpkg_list : Interest::none;
  return classify_python(parts);
}

std::string keep_content(Interest interest, std::string content) {
  if (interest != Interest::dpkg_list) return content;
  std::string kept;
  for (const std::string& line : split(content, '\n')) {
    std::string_view base = base_of(line);
    if (ends_with(base, ".dist-info") || ends_with(base, ".egg-info")) kept += line + "\n";
  }
  return kept;
}

namespace {

std::uint64_t parse_kib(const std::string& text) {
  std::uint64_t kib = 0;
  std::from_chars(text.data(), text.data() + text.size(), kib);
  return kib * 1024;
}

// True for stanzas dpkg reports as installed: "<want> ok installed". The
// want flag (install, hold, deinstall, purge) is a selection, not a state,
// so a package marked for removal is still on disk and counts.
bool installed(const Fields& stanza, bool status_required) {
  auto status = stanza.find("status");
  if (status == stanza.end()) return !status_required;
  std::vector<std::string> words = split(status->second, ' ');
  return words.size() == 3 && words[1] == "ok" && words[2] == "installed";
}

void add_deb_packages(std::string_view text, bool status_required, std::vector<Package>& out) {
  for (const Fields& stanza : parse_stanzas(text)) {
    std::string name = field(stanza, "package");
    if (name.empty() || !installed(stanza, status_required)) continue;

    Package package;
    package.ecosystem = Ecosystem::deb;
    package.name = name;
    package.version = field(stanza, "version");
    package.architecture = field(stanza, "architecture");
    package.installed_size = parse_kib(field(stanza, "installed-size"));

    // "Source: glibc" or "Source: glibc (2.36-9)" when versions differ.
    std::string source = field(stanza, "source");
    std::size_t paren = source.find(" (");
    package.source = source.empty() ? name : source.substr(0, paren);
    package.source_version = package.version;
    if (paren != std::string::npos && source.back() == ')')
      package.source_version = source.substr(paren + 2, source.size() - paren - 3);
    out.push_back(std::move(package));
  }
}

std::string content_of(const InterestingFiles& files, const std::string& path) {
  auto it = files.find(path);
  return it == files.end() ? std::string{} : it->second;
}

std::set<std::string> dpkg_owned_metadata(const InterestingFiles& files) {
  std::set<std::string> owned;
  for (const auto& [path, content] : files) {
    if (classify(path) != Interest::dpkg_list) continue;
    for (const std::string& line : split(content, '\n'))
      if (!line.empty()) owned.insert(line);
  }
  return owned;
}

// Builds a Python package from a METADATA or PKG-INFO file; `directory` is
// the .dist-info or .egg-info path (RECORD and INSTALLER live beside it).
void add_python_package(const InterestingFiles& files, const std::set<std::string>& owned,
                        const std::string& directory, const std::string& metadata,
                        std::vector<Package>& out) {
  Fields headers = parse_headers(metadata);
  std::string name = field(headers, "name");
  if (name.empty()) return;

  // Debian's python3-* packages already list this distribution.
  std::string installer(trim(content_of(files, directory + "/INSTALLER")));
  bool debian_site = base_of(parent_of(directory)) == "dist-packages";
  if (debian_site && (owned.contains(directory) || installer == "debian")) return;

  Package package;
  package.ecosystem = Ecosystem::python;
  package.name = normalize_python_name(name);
  package.version = field(headers, "version");
  package.installed_size = sum_record_sizes(content_of(files, directory + "/RECORD"));
  out.push_back(std::move(package));
}

void add_python_packages(const InterestingFiles& files, std::vector<Package>& out) {
  std::set<std::string> owned = dpkg_owned_metadata(files);
  for (const auto& [path, content] : files) {
    Interest interest = classify(path);
    if (interest == Interest::python_metadata || interest == Interest::egg_info_pkg_info)
      add_python_package(files, owned, std::string(parent_of(path)), content, out);
    else if (interest == Interest::egg_info_file)
      add_python_package(files, owned, path, content, out);
  }
}

}  // namespace

std::vector<Package> catalogue(const InterestingFiles& files) {
  std::vector<Package> packages;
  auto status = files.find("/var/lib/dpkg/status");
  if (status != files.end()) add_deb_packages(status->second, true, packages);
  for (const auto& [path, content] : files)
    if (classify(path) == Interest::dpkg_status_d) add_deb_packages(content, false, packages);
  add_python_packages(files, packages);

  // Files are visited in path order, so the status file wins over status.d
  // and, for a Python name found in two environments, the first path wins.
  // NOTE: a second environment's copy of the same distribution is dropped.
  std::stable_sort(packages.begin(), packages.end(),
                   [](const Package& a, const Package& b) { return a.key() < b.key(); });
  auto duplicate = std::unique(packages.begin(), packages.end(),
                               [](const Package& a, const Package& b) { return a.key() == b.key(); });
  packages.erase(duplicate, packages.end());
  return packages;
}

namespace {

std::string codename_of_debian_version(std::string_view text) {
  std::string value(trim(text));
  if (value.find('/') != std::string::npos) return value.substr(0, value.find('/'));
  static const std::map<std::string, std::string> codenames = {
      {"9", "stretch"}, {"10", "buster"}, {"11", "bullseye"}, {"12", "bookworm"}, {"13", "trixie"}};
  auto it = codenames.find(value.substr(0, value.find('.')));
  return it == codenames.end() ? std::string{} : it->second;
}

}  // namespace

OsRelease read_os_release(const InterestingFiles& files) {
  std::string text = content_of(files, "/etc/os-release");
  if (text.empty()) text = content_of(files, "/usr/lib/os-release");

  OsRelease os;
  for (const std::string& line : split(text, '\n')) {
    std::size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string key(trim(std::string_view(line).substr(0, equals)));
    std::string value(trim(std::string_view(line).substr(equals + 1)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\''))
      value = value.substr(1, value.size() - 2);
    if (key == "ID") os.id = value;
    if (key == "VERSION_ID") os.version_id = value;
    if (key == "VERSION_CODENAME") os.codename = value;
  }

  std::string debian_version = content_of(files, "/etc/debian_version");
  if (os.codename.empty() && !debian_version.empty())
    os.codename = codename_of_debian_version(debian_version);
  if (os.id.empty() && !debian_version.empty()) os.id = "debian";
  return os;
}

}  // namespace imgbuild::report::detail
