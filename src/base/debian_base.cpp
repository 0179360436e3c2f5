// SPDX-License-Identifier: Apache-2.0
// Building a Debian base with mmdebstrap, or reusing the store's copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sys/mount.h>

#include "base/debian_inputs.hpp"
#include "base/progress.hpp"
#include "base/rootfs_layer.hpp"
#include "imgbuild/base/base.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::base {
namespace {

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Decodes the octal escapes (\040 for a space) of a /proc/self/mountinfo field.
std::string unescape_mount_field(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (std::size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Detaches every mount below `root`, deepest first. mmdebstrap unmounts
// /dev, /proc, /sys and file:// mirrors itself, but when it is killed they
// stay, and removing the directory would then walk into the host's /dev.
void detach_mounts_below(const fs::path& root) noexcept {
  try {
    std::string prefix = root.string() + "/";
    std::vector<std::string> targets;
    for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
      auto fields = split(line, ' ');
      if (fields.size() < 5) continue;
      std::string target = unescape_mount_field(fields[4]);
      if (starts_with(target, prefix)) targets.push_back(target);
    }
    std::sort(targets.begin(), targets.end(), std::greater<>());
    for (const auto& target : targets) ::umount2(target.c_str(), MNT_DETACH);
  } catch (...) {
    // Best effort: a leftover mount makes the directory removal fail loudly.
  }
}

// A directory for mmdebstrap's output whose mounts are detached before it is
// removed, also when the build is interrupted.
class BuildDirectory {
 public:
  explicit BuildDirectory(const fs::path& parent)
      : directory_("debian-base-", parent),
        rootfs_(directory_ / "rootfs"),
        action_(cleanup::register_action([root = rootfs_] { detach_mounts_below(root); })) {}
  BuildDirectory(const BuildDirectory&) = delete;
  BuildDirectory& operator=(const BuildDirectory&) = delete;
  ~BuildDirectory() {
    detach_mounts_below(rootfs_);
    cleanup::unregister_action(action_);
  }

  const fs::path& rootfs() const { return rootfs_; }

 private:
  TempDir directory_;
  fs::path rootfs_;
  std::uint64_t action_;
};

nlohmann::json packages_json(const std::vector<Package>& packages) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& package : packages) list.push_back({package.name, package.version, package.architecture});
  return list;
}

std::vector<Package> packages_from_json(const nlohmann::json& list) {
  std::vector<Package> packages;
  for (const auto& item : list)
    packages.push_back({item.at(0).get<std::string>(), item.at(1).get<std::string>(), item.at(2).get<std::string>()});
  return packages;
}

image::Image make_image(const DebianBase& base, std::string_view architecture, const image::Layer& layer,
                        std::int64_t epoch) {
  image::Image image;
  image.config = image::scratch_config(oci_platform(architecture));
  image::set_created(image.config, epoch);
  image::set_env(image.config, "PATH", default_path);
  image::set_cmd(image.config, {"bash"});
  image::append_layer(image, layer, image::HistoryEntry{"imgbuild " + describe(base), "", ""});
  image.name = describe(base);
  return image;
}

// Runs mmdebstrap into `rootfs`, passing its lines to the progress output.
void run_mmdebstrap(const DebianBase& base, std::string_view architecture, const fs::path& rootfs,
                    BaseContext& context) {
  if (!find_program(context.mmdebstrap))
    fail("program ", quote(context.mmdebstrap), " not found: install mmdebstrap (scripts/install-deps.sh does)");

  ProcessOptions options;
  options.extra_env.push_back(cat("SOURCE_DATE_EPOCH=", context.source_date_epoch));
  std::string prefix = cat("base ", describe(base), ": ");
  options.on_line = [&](Stream, std::string_view line) { emit_progress(context, prefix + std::string(line)); };

  auto argv = mmdebstrap_arguments(base, context.mmdebstrap, architecture, rootfs);
  ProcessResult result = run_process(argv, options);
  if (result.exit_code != 0)
    fail("mmdebstrap failed with exit code ", result.exit_code, " for ", quote(describe(base)), ":\n",
         tail_lines(result.err, 15), "\ncheck the suite, the package names and that the mirror is reachable");
}

// Returns the image of a cached base, or nothing when its layer is no longer
// in the store (pruned), so the caller rebuilds it.
std::optional<DebianBaseResult> reuse_cached(const DebianBase& base, std::string_view architecture,
                                             const store::CacheEntry& entry, BaseContext& context) {
  if (!entry.diff_id) return std::nullopt;
  auto record = context.store.find_layer(*entry.diff_id);
  if (!record) return std::nullopt;
  auto blob = record->blobs.find("gzip");
  if (blob == record->blobs.end() || !context.store.has_blob(blob->second.digest)) return std::nullopt;

  image::Layer layer{{blob->second.media_type, blob->second.digest, static_cast<std::int64_t>(blob->second.size), {}, {}},
                     record->diff_id,
                     record->uncompressed_size};
  DebianBaseResult result;
  result.image = make_image(base, architecture, layer, entry.metadata.at("epoch").get<std::int64_t>());
  result.packages = packages_from_json(entry.metadata.at("packages"));
  result.cached = true;
  return result;
}

DebianBaseResult build_fresh(const DebianBase& base, std::string_view architecture, BaseContext& context) {
  auto started = std::chrono::steady_clock::now();
  BuildDirectory directory(context.store.tmp_dir());
  run_mmdebstrap(base, architecture, directory.rootfs(), context);
  detach_mounts_below(directory.rootfs());

  finish_rootfs(directory.rootfs(), base);
  DebianBaseResult result;
  result.packages = parse_dpkg_status(read_file(directory.rootfs() / "var/lib/dpkg/status"));
  image::Layer layer = write_rootfs_layer(directory.rootfs(), context);
  result.image = make_image(base, architecture, layer, context.source_date_epoch);

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f", seconds);
  emit_progress(context, cat("base ", describe(base), ": built in ", elapsed, " s, ", result.packages.size(),
                      " packages, layer ", layer.diff_id.str()));
  return result;
}

}  // namespace

DebianBaseResult build_debian_base(const DebianBase& base, BaseContext& context) {
  check_debian_base(base);
  std::string architecture = base.architecture ? *base.architecture
                             : context.platform.architecture.empty() ? host_debian_architecture()
                                                                     : debian_architecture(context.platform);
  std::string key = debian_cache_key(base, architecture);
  auto cached = context.store.find_cache(key);

  if (cached && !context.pull) {
    if (auto reused = reuse_cached(base, architecture, *cached, context)) {
      emit_progress(context, cat("base ", describe(base), ": cached, layer ", cached->diff_id->str()));
      reused->cache_key = key;
      return std::move(*reused);
    }
    emit_progress(context, cat("base ", describe(base), ": cached layer missing from the store, rebuilding"));
  }

  DebianBaseResult result = with_context(cat("building base ", quote(describe(base))),
                                         [&] { return build_fresh(base, architecture, context); });
  if (cached && context.pull && cached->metadata.contains("packages"))
    result.previous_packages = packages_from_json(cached->metadata.at("packages"));

  store::CacheEntry entry;
  entry.components = debian_key_components(base, architecture);
  entry.diff_id = result.image.layers.front().diff_id;
  entry.metadata = {{"packages", packages_json(result.packages)},
                    {"epoch", context.source_date_epoch},
                    {"architecture", architecture}};
  entry.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  context.store.put_cache(key, entry);
  result.cache_key = key;
  return result;
}

}  // namespace imgbuild::base
