// SPDX-License-Identifier: Apache-2.0
#include "exec/bundle.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::exec {
namespace {

namespace fs = std::filesystem;

constexpr const char* default_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool has_key(const std::vector<std::string>& env, std::string_view key) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& entry) {
    return entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 && entry[key.size()] == '=';
  });
}

std::string host_file_or_empty(const fs::path& path) {
  std::error_code error;
  return fs::exists(path, error) ? read_file(path) : std::string();
}

void write_private(const fs::path& path, std::string_view content, std::uint32_t uid, std::uint32_t gid,
                   std::uint32_t mode) {
  UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  write_all(fd.get(), content);
  if (::fchown(fd.get(), uid, gid) != 0) fail_errno(cat("cannot chown ", path));
  if (::fchmod(fd.get(), mode) != 0) fail_errno(cat("cannot chmod ", path));
}

void prepare_cache_dir(const CacheMount& cache) {
  std::error_code error;
  if (fs::is_directory(cache.source, error)) return;
  fs::create_directories(cache.source);
  if (::chown(cache.source.c_str(), cache.uid, cache.gid) != 0) fail_errno(cat("cannot chown ", cache.source));
  if (::chmod(cache.source.c_str(), cache.mode) != 0) fail_errno(cat("cannot chmod ", cache.source));
}

// Lists every component of `relative` ("a/b/c" gives "a", "a/b", "a/b/c").
std::vector<std::string> prefixes(const std::string& relative) {
  std::vector<std::string> out;
  std::string current;
  for (const auto& part : split(relative, '/')) {
    if (part.empty()) continue;
    current += current.empty() ? part : "/" + part;
    out.push_back(current);
  }
  return out;
}

std::string read_xattr_value(const fs::path& path, const char* name) {
  char value[64];
  ssize_t size = ::lgetxattr(path.c_str(), name, value, sizeof value);
  return size > 0 ? std::string(value, static_cast<std::size_t>(size)) : std::string();
}

// True when `path` and everything in it are empty directories or empty files.
bool only_empty_entries(const fs::path& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (S_ISREG(st.st_mode)) return st.st_size == 0;
  if (!S_ISDIR(st.st_mode)) return false;
  for (const auto& child : fs::directory_iterator(path))
    if (!only_empty_entries(child.path())) return false;
  return true;
}

std::map<std::string, std::string> xattrs_without_overlay(const fs::path& path) {
  std::map<std::string, std::string> out;
  std::string names(4096, '\0');
  ssize_t length = ::llistxattr(path.c_str(), names.data(), names.size());
  if (length <= 0) return out;
  names.resize(static_cast<std::size_t>(length));
  for (const auto& name : split(names, '\0')) {
    if (name.empty() || starts_with(name, "trusted.overlay.") || starts_with(name, "user.overlay.")) continue;
    std::string value(65536, '\0');
    ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    out[name] = size < 0 ? std::string() : value.substr(0, static_cast<std::size_t>(size));
  }
  return out;
}

bool same_directory_metadata(const fs::path& a, const fs::path& b) {
  struct stat sa{}, sb{};
  if (::lstat(a.c_str(), &sa) != 0 || ::lstat(b.c_str(), &sb) != 0) return false;
  return S_ISDIR(sa.st_mode) && S_ISDIR(sb.st_mode) && sa.st_mode == sb.st_mode && sa.st_uid == sb.st_uid &&
         sa.st_gid == sb.st_gid && xattrs_without_overlay(a) == xattrs_without_overlay(b);
}

}  // namespace

std::vector<std::string> step_env(const RunRequest& request, const ResolvedUser& user) {
  std::vector<std::string> env = request.env;
  if (!has_key(env, "PATH")) env.emplace_back(default_path);
  if (!has_key(env, "HOME")) env.push_back("HOME=" + user.home);
  if (request.pass_proxy_env) {
    for (const auto& entry : host_proxy_env())
      if (!has_key(env, entry.substr(0, entry.find('=')))) env.push_back(entry);
  }
  return env;
}

std::vector<BindMount> prepare_binds(const RunRequest& request, const fs::path& bundle) {
  std::vector<BindMount> binds;

  // Copies, so a step can neither write to the host's files nor see later edits.
  write_private(bundle / "resolv.conf", host_file_or_empty("/etc/resolv.conf"), 0, 0, 0644);
  std::string hosts = host_file_or_empty("/etc/hosts");
  if (!hosts.empty() && hosts.back() != '\n') hosts += '\n';
  if (!request.hostname.empty()) hosts += cat("127.0.0.1\t", request.hostname, "\n");
  write_private(bundle / "hosts", hosts, 0, 0, 0644);
  binds.push_back({bundle / "resolv.conf", "/etc/resolv.conf", true});
  binds.push_back({bundle / "hosts", "/etc/hosts", true});

  fs::create_directories(bundle / "secrets");
  for (std::size_t i = 0; i < request.secrets.size(); ++i) {
    const SecretMount& secret = request.secrets[i];
    if (secret.name.empty() || secret.name.find('/') != std::string::npos || secret.name == "." || secret.name == "..")
      fail("invalid secret name ", quote(secret.name), ": use a name without '/'");
    std::string value = with_context(cat("reading secret ", quote(secret.name)), [&] { return read_file(secret.source); });
    fs::path copy = bundle / "secrets" / std::to_string(i);
    write_private(copy, value, secret.uid, secret.gid, secret.mode);
    binds.push_back({copy, secret.target.empty() ? "/run/secrets/" + secret.name : secret.target, true});
  }

  for (const CacheMount& cache : request.caches) {
    prepare_cache_dir(cache);
    binds.push_back({cache.source, cache.target, cache.read_only});
  }
  return binds;
}

MountStubs::MountStubs(const fs::path& rootfs, const fs::path& upper, const std::vector<std::string>& targets)
    : rootfs_(rootfs), upper_(upper) {
  for (const auto& target : targets) {
    for (const auto& prefix : prefixes(target)) {
      std::error_code error;
      auto status = fs::symlink_status(rootfs_ / prefix, error);
      if (fs::is_symlink(status)) break;  // the runtime resolves it inside the root; leave it alone
      if (fs::exists(status)) continue;
      if (std::find(missing_.begin(), missing_.end(), prefix) != missing_.end()) break;
      missing_.push_back(prefix);
      for (const auto& parent : prefixes(fs::path(prefix).parent_path().string())) {
        std::error_code ignored;
        bool in_upper = fs::exists(fs::symlink_status(upper_ / parent, ignored));
        if (!in_upper && std::find(parents_.begin(), parents_.end(), parent) == parents_.end())
          parents_.push_back(parent);
      }
      break;
    }
  }
  std::sort(parents_.begin(), parents_.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void MountStubs::remove() const {
  for (const auto& stub : missing_) {
    // Refuse to follow a symlink the step may have put on the way: only
    // real directories lead to the stub.
    bool safe = true;
    for (const auto& prefix : prefixes(stub)) {
      struct stat st{};
      bool last = prefix == stub;
      if (::lstat((rootfs_ / prefix).c_str(), &st) != 0 || (!last && !S_ISDIR(st.st_mode)) || S_ISLNK(st.st_mode)) {
        safe = false;
        break;
      }
    }
    fs::path path = rootfs_ / stub;
    if (safe && only_empty_entries(path)) fs::remove_all(path);
  }
}

void MountStubs::prune_upper(const std::vector<fs::path>& lowers) const {
  for (const auto& parent : parents_) {
    fs::path copied = upper_ / parent;
    std::error_code error;
    if (!fs::is_directory(fs::symlink_status(copied, error)) || !fs::is_empty(copied, error) || error) continue;
    std::string opaque = read_xattr_value(copied, "trusted.overlay.opaque") + read_xattr_value(copied, "user.overlay.opaque");
    if (!opaque.empty()) continue;

    // The top-most lower dir that has the directory decides its metadata.
    for (auto lower = lowers.rbegin(); lower != lowers.rend(); ++lower) {
      if (!fs::exists(fs::symlink_status(*lower / parent, error))) continue;
      if (same_directory_metadata(copied, *lower / parent)) ::rmdir(copied.c_str());
      break;
    }
  }
}

}  // namespace imgbuild::exec
