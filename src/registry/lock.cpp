// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/registry/lock.hpp"

#include <nlohmann/json.hpp>

#include "imgbuild/registry/client.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {
namespace {

constexpr int lock_version = 1;

// The key of a pin: the normalized reference without a digest.
std::string key_of(const Reference& reference) {
  Reference tag_only = reference;
  tag_only.digest.reset();
  return tag_only.str();
}

}  // namespace

std::filesystem::path LockFile::path_for(const std::filesystem::path& recipe) {
  return recipe.parent_path() / "imgbuild.lock";
}

LockFile LockFile::load(const std::filesystem::path& path) {
  LockFile lock;
  lock.path_ = path;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return lock;

  std::string where = cat("lock file ", quote(path.string()));
  nlohmann::json document = nlohmann::json::parse(read_file(path), nullptr, false);
  if (document.is_discarded() || !document.is_object())
    fail(where, " is not valid JSON: fix it, or delete it to pin every base again");
  if (document.value("lockVersion", 0) != lock_version)
    fail(where, " has lockVersion ", document.value("lockVersion", nlohmann::json()).dump(),
         " but this imgbuild reads version ", lock_version, ": delete it to pin every base again");
  if (document.contains("bases") && !document["bases"].is_object()) fail(where, ": 'bases' is not an object");

  const nlohmann::json bases = document.value("bases", nlohmann::json::object());
  for (const auto& [key, value] : bases.items()) {
    if (!value.is_string()) fail(where, ": the pin of ", quote(key), " is not a string");
    std::string context = cat(where, ": pin of ", quote(key));
    Reference reference = with_context(context, [&] { return Reference::parse(key); });
    lock.pins_[key_of(reference)] = with_context(context, [&] { return Digest::parse(value.get<std::string>()); });
  }
  return lock;
}

std::optional<Digest> LockFile::find(const Reference& reference) const {
  auto found = pins_.find(key_of(reference));
  if (found == pins_.end()) return std::nullopt;
  return found->second;
}

void LockFile::set(const Reference& reference, const Digest& digest) {
  auto [entry, inserted] = pins_.try_emplace(key_of(reference), digest);
  if (!inserted && entry->second == digest) return;
  entry->second = digest;
  changed_ = true;
}

void LockFile::save() {
  if (!changed_) return;
  nlohmann::json bases = nlohmann::json::object();
  for (const auto& [key, digest] : pins_) bases[key] = digest.str();
  nlohmann::json document = {{"lockVersion", lock_version}, {"bases", bases}};
  write_file_atomic(path_, document.dump(2) + "\n");
  changed_ = false;
}

Reference pin_base(Client& client, LockFile& lock, const Reference& reference, const image::Platform& platform,
                   LockMode mode) {
  if (reference.digest) return reference;
  std::optional<Digest> pinned = lock.find(reference);
  if (mode == LockMode::normal && pinned) return reference.with_digest(*pinned);

  Digest resolved = client.resolve(reference, platform).reference_digest;
  if (mode == LockMode::locked) {
    if (!pinned)
      fail("base ", quote(reference.str()), " has no pin in ", quote(lock.path().string()),
           " and --locked forbids adding one: run once without --locked to pin it");
    if (*pinned != resolved)
      fail("base ", quote(reference.str()), " is pinned to ", pinned->str(), " in ", quote(lock.path().string()),
           " but the tag now resolves to ", resolved.str(), ": run with --pull to update the pin");
    return reference.with_digest(*pinned);
  }

  if (pinned && *pinned != resolved)
    log::info(cat("base ", quote(reference.str()), " moved from ", pinned->str(), " to ", resolved.str(),
                  ": updating the pin"));
  lock.set(reference, resolved);
  return reference.with_digest(resolved);
}

}  // namespace imgbuild::registry
