// SPDX-License-Identifier: Apache-2.0
// The rootfs side of Debian bases: the apt settings and cleanup that make an
// mmdebstrap directory a container base, and reading its package list.
#include <algorithm>
#include <map>
#include <set>
#include <sys/stat.h>

#include "base/debian_inputs.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {
namespace {

constexpr const char* clean_command =
    "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";

// These helpers skip a directory that is a symlink: in a rootfs it can
// point at the host's own /dev or /var/log.
void remove_matching(const fs::path& directory, std::string_view suffix) {
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(directory, error))) return;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (ends_with(entry.path().filename().string(), suffix) && !entry.is_directory()) fs::remove(entry.path());
  }
}

void remove_children_except(const fs::path& directory, const std::set<std::string>& keep_names) {
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(directory, error))) return;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (!keep_names.count(entry.path().filename().string())) remove_tree(entry.path());
  }
}

void truncate_files_below(const fs::path& directory) {
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(directory, error))) return;
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    if (fs::is_regular_file(entry.symlink_status())) fs::resize_file(entry.path(), 0);
  }
}

// Paths that installed packages own ("/tmp", "/usr/bin"), from dpkg's lists.
std::set<std::string> package_owned_paths(const fs::path& root) {
  std::set<std::string> owned;
  for (const auto& entry : fs::directory_iterator(root / "var/lib/dpkg/info")) {
    if (entry.path().extension() != ".list") continue;
    for (auto& line : split(read_file(entry.path()), '\n'))
      if (!line.empty()) owned.insert(std::move(line));
  }
  return owned;
}

// mmdebstrap's file-mirror hook creates the repository's path inside the
// chroot to mount it there, and leaves the empty directories behind.
void remove_mount_points(const fs::path& root, const DebianBase& base) {
  auto paths = file_source_paths(base);
  if (paths.empty()) return;

  auto owned = package_owned_paths(root);
  for (const auto& path : paths) {
    fs::path inside(path);
    while (inside.has_relative_path() && !owned.count(inside.string())) {
      fs::path directory = root / inside.relative_path();
      std::error_code error;
      if (!fs::is_directory(fs::symlink_status(directory, error)) || !fs::is_empty(directory, error)) break;
      fs::remove(directory);
      inside = inside.parent_path();
    }
  }
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& apt_settings_files() {
  static const std::vector<std::pair<std::string, std::string>> files{
      {"docker-clean",
       cat("// Downloaded packages and the binary package caches are deleted after\n"
           "// every dpkg run and every index update, so no image layer carries them.\n"
           "DPkg::Post-Invoke { \"", clean_command, "\"; };\n"
           "APT::Update::Post-Invoke { \"", clean_command, "\"; };\n"
           "// An empty file name makes apt build its package caches in memory only.\n"
           "Dir::Cache::pkgcache \"\";\n"
           "Dir::Cache::srcpkgcache \"\";\n")},
      {"docker-no-languages",
       "// Fetch no Translation-* indexes: the English descriptions in the\n"
       "// Packages indexes are enough inside an image.\n"
       "Acquire::Languages \"none\";\n"},
      {"docker-gzip-indexes",
       "// Keep the package indexes in /var/lib/apt/lists gzip-compressed.\n"
       "Acquire::GzipIndexes \"true\";\n"
       "Acquire::CompressionTypes::Order:: \"gz\";\n"},
      {"docker-autoremove-suggests",
       "// A package that is only suggested by another one may be autoremoved.\n"
       "Apt::AutoRemove::SuggestsImportant \"false\";\n"},
      {"imgbuild-no-recommends",
       "// Install only what packages depend on, as the base itself was built.\n"
       "APT::Install-Recommends \"false\";\n"
       "APT::Install-Suggests \"false\";\n"},
  };
  return files;
}

// Fails unless every directory from `root` down to `relative` is a real
// directory: the writes below would otherwise follow a link out of the root.
void require_real_directories(const fs::path& root, const fs::path& relative) {
  fs::path path = root;
  for (const auto& part : relative) {
    path /= part;
    std::error_code error;
    fs::file_status status = fs::symlink_status(path, error);
    if (!fs::exists(status)) fs::create_directory(path);
    else if (!fs::is_directory(status))
      fail("the debian base's ", quote(path.lexically_relative(root).string()),
           " is not a directory; imgbuild does not write through it");
  }
}

void finish_rootfs(const fs::path& root, const DebianBase& base) {
  fs::path apt_conf = root / "etc/apt/apt.conf.d";
  require_real_directories(root, "etc/apt/apt.conf.d");
  for (const auto& [name, content] : apt_settings_files()) write_file_atomic(apt_conf / name, content, 0644);

  // mmdebstrap copies these from the host for debootstrap compatibility;
  // container runtimes provide them at run time.
  fs::remove(root / "etc/hostname");
  fs::remove(root / "etc/resolv.conf");
  if (fs::is_regular_file(fs::symlink_status(root / "etc/machine-id"))) fs::resize_file(root / "etc/machine-id", 0);

  // Runtimes mount their own /dev, and device nodes in a layer cannot be
  // created by rootless unpackers.
  remove_children_except(root / "dev", {});

  // Backups that debconf and dpkg keep of their previous databases.
  remove_matching(root / "var/cache/debconf", "-old");
  remove_matching(root / "var/lib/dpkg", "-old");

  // mmdebstrap cleans these already; repeat it so the layer never depends on that.
  remove_matching(root / "var/cache/apt", ".bin");
  remove_matching(root / "var/cache/apt/archives", ".deb");
  remove_children_except(root / "var/cache/apt/archives/partial", {});
  remove_children_except(root / "var/lib/apt/lists", {"lock", "partial"});
  remove_children_except(root / "var/lib/apt/lists/partial", {});
  truncate_files_below(root / "var/log");

  remove_mount_points(root, base);
}

std::vector<Package> parse_dpkg_status(std::string_view status) {
  std::vector<Package> packages;
  std::map<std::string, std::string> fields;

  auto finish_stanza = [&] {
    auto state = split(fields["Status"], ' ');
    if (state.size() == 3 && state[2] == "installed")
      packages.push_back({fields["Package"], fields["Version"], fields["Architecture"]});
    fields.clear();
  };

  for (const auto& line : split(status, '\n')) {
    if (line.empty()) {
      finish_stanza();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a multi-line field
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[line.substr(0, colon)] = std::string(trim(std::string_view(line).substr(colon + 1)));
  }
  finish_stanza();

  std::sort(packages.begin(), packages.end());
  return packages;
}

std::vector<PackageChange> diff_packages(const std::vector<Package>& before, const std::vector<Package>& after) {
  // Keyed by name, and by name and architecture for a name that multiarch
  // installs twice in one list, so a package that moves from "all" to
  // "amd64" still shows as one version change.
  std::set<std::string> multiarch_names;
  for (const auto* list : {&before, &after}) {
    std::set<std::string> seen;
    for (const auto& package : *list)
      if (!seen.insert(package.name).second) multiarch_names.insert(package.name);
  }
  auto key = [&](const Package& package) {
    return multiarch_names.count(package.name) ? package.name + ":" + package.architecture : package.name;
  };
  std::map<std::string, PackageChange> changes;
  for (const auto& package : before) changes[key(package)] = {package.name, package.version, ""};
  for (const auto& package : after) {
    auto& change = changes[key(package)];
    change.name = package.name;
    change.new_version = package.version;
  }

  std::vector<PackageChange> result;
  for (auto& [name, change] : changes)
    if (change.old_version != change.new_version) result.push_back(std::move(change));
  std::sort(result.begin(), result.end());
  return result;
}

}  // namespace imgbuild::base
