// SPDX-License-Identifier: Apache-2.0
// `imgbuild prune`: removes cache entries by age and size budget, then the
// blobs, layer records and unpacked layers nothing references any more.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>

#include "imgbuild/store/prune.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "verbs.hpp"

namespace imgbuild::cli {
namespace {

struct PruneFlags {
  std::string store, keep_storage, max_age;
  unsigned wait_seconds = 0;
};

store::PruneOptions parse_prune_options(const PruneFlags& flags) {
  store::PruneOptions options;
  if (!flags.keep_storage.empty())
    options.keep_storage = with_context("--keep-storage", [&] { return store::parse_byte_size(flags.keep_storage); });
  if (!flags.max_age.empty())
    options.max_age = with_context("--max-age", [&] { return store::parse_duration(flags.max_age); });
  options.lock_timeout = std::chrono::seconds(flags.wait_seconds);
  return options;
}

int run_prune(const PruneFlags& flags) {
  store::PruneOptions options = parse_prune_options(flags);
  std::filesystem::path root = flags.store.empty() ? default_store_dir() : std::filesystem::path(flags.store);
  // Opening creates a missing store, which would hide a mistyped --store.
  if (!flags.store.empty() && !std::filesystem::is_directory(root))
    fail_with(ExitCode::usage, "store directory ", quote(root.string()), " not found; pass the --store a build used");

  store::Store store = store::Store::open(root);
  store::PruneResult result = store::prune(store, options);
  std::cout << "removed " << result.cache_entries << " cache entries, " << result.layers << " layer records, "
            << result.blobs << " blobs and " << result.unpacked << " unpacked layers from " << root.string() << "\n"
            << "freed " << human_bytes(result.freed_bytes) << ", kept " << human_bytes(result.kept_bytes) << "\n";
  return static_cast<int>(ExitCode::success);
}

}  // namespace

Verb add_prune_verb(CLI::App& app) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* command = app.add_subcommand(
      "prune", "remove old cache entries, then every blob and unpacked layer that neither a build record nor a "
               "remaining cache entry references (with no budget, all cache entries go)");
  command->add_option("--store", flags->store, "store directory to prune (default: $XDG_CACHE_HOME/imgbuild)")
      ->type_name("DIR");
  command->add_option("--keep-storage", flags->keep_storage,
                      "size budget in bytes, with an optional unit kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, "
                      "TiB (powers of 1024): keeps the most recently used cache entries whose content fits, such as 2GiB")
      ->type_name("SIZE");
  command->add_option("--max-age", flags->max_age,
                      "keeps cache entries used within this duration: a number with a unit s, m, h, d or w, such as "
                      "7d or 1h30m")
      ->type_name("DURATION");
  command->add_option("--wait", flags->wait_seconds,
                      "seconds to wait for running builds to release the store (default: 0, fail at once)")
      ->check(integer_range(0, std::numeric_limits<unsigned>::max()))
      ->type_name("SECONDS");
  return Verb{command, [flags] { return run_prune(*flags); }, true};
}

}  // namespace imgbuild::cli
