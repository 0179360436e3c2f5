// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/secret_store.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <linux/magic.h>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

namespace fs = std::filesystem;

// Secrets on tmpfs never reach a disk; /dev/shm is tmpfs on most Linux hosts.
fs::path private_parent() {
  struct statfs info{};
  if (::statfs("/dev/shm", &info) == 0 && info.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return {};
}

std::string read_value(const SecretSpec& spec) {
  if (!spec.env.empty()) {
    const char* value = std::getenv(spec.env.c_str());
    if (!value)
      fail_with(ExitCode::usage, "secret ", quote(spec.id), ": environment variable ", quote(spec.env),
                " is not set; export it or point the secret at a file with src=");
    return value;
  }
  std::error_code error;
  if (!fs::is_regular_file(spec.file, error))
    fail_with(ExitCode::usage, "secret ", quote(spec.id), ": file ", quote(spec.file.string()),
              " not found; check the src= path");
  return read_file(spec.file);
}

}  // namespace

struct SecretStore::State {
  std::map<std::string, SecretSpec, std::less<>> specs;
  std::map<std::string, fs::path, std::less<>> files;
  std::optional<TempDir> directory;
  std::mutex mutex;
};

SecretStore::SecretStore(std::vector<SecretSpec> specs) : state_(std::make_unique<State>()) {
  for (SecretSpec& spec : specs) {
    if (spec.id.empty() || spec.id.find('/') != std::string::npos || spec.id == "." || spec.id == "..")
      fail_with(ExitCode::usage, "invalid secret id ", quote(spec.id), ": use a plain name such as 'npm_token'");
    if (spec.file.empty() == spec.env.empty())
      fail_with(ExitCode::usage, "secret ", quote(spec.id), " needs exactly one source: src=FILE or env=VAR");
    std::string id = spec.id;
    if (!state_->specs.emplace(id, std::move(spec)).second)
      fail_with(ExitCode::usage, "secret ", quote(id), " is defined twice; keep one definition");
  }
}

SecretStore::~SecretStore() = default;
SecretStore::SecretStore(SecretStore&&) noexcept = default;

bool SecretStore::contains(std::string_view id) const { return state_->specs.find(id) != state_->specs.end(); }

std::vector<std::string> SecretStore::ids() const {
  std::vector<std::string> result;
  for (const auto& [id, spec] : state_->specs) result.push_back(id);
  return result;
}

const fs::path& SecretStore::directory() {
  std::lock_guard lock(state_->mutex);
  if (!state_->directory) {
    state_->directory.emplace("imgbuild-secrets-", private_parent());
    ::chmod(state_->directory->path().c_str(), 0700);
  }
  return state_->directory->path();
}

fs::path SecretStore::path(std::string_view id) {
  auto spec = state_->specs.find(id);
  if (spec == state_->specs.end()) {
    std::vector<std::string> known = ids();
    std::optional<std::string> hint = nearest(id, known);
    fail_with(ExitCode::usage, "unknown secret ", quote(id), hint ? cat("; did you mean ", quote(*hint), "?") : "",
              "; define it in the recipe's [secrets] or pass --secret id=", id, ",src=FILE");
  }
  fs::path dir = directory();

  std::lock_guard lock(state_->mutex);
  if (auto it = state_->files.find(id); it != state_->files.end()) return it->second;
  fs::path file = dir / spec->first;
  std::string value = read_value(spec->second);
  UniqueFd fd = open_file(file, O_WRONLY | O_CREAT | O_EXCL, 0400);
  write_all(fd.get(), value);
  state_->files.emplace(spec->first, file);
  return file;
}

}  // namespace imgbuild::context
