// SPDX-License-Identifier: Apache-2.0
// `imgbuild diff A B`: compares image B with image A (sizes, layers,
// packages, largest added files, paths written twice). Either side may be a
// build record or report instead, which gives a diff without file lists.
#include <filesystem>
#include <iostream>
#include <memory>

#include "build/session.hpp"
#include "image_source.hpp"
#include "imgbuild/report/diff.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "verbs.hpp"

namespace imgbuild::cli {
namespace {

struct DiffFlags {
  std::string a, b, store, json, platform;
};

image::Platform diff_platform(const std::string& text) {
  build::BuildOptions options;
  if (!text.empty()) options.platform = text;
  return build::resolve_platform(options, recipe::Recipe{});
}

// Names the sides that have no file list, so a missing "largest" section
// reads as a limit of the inputs and not as "nothing was added".
std::string files_note(const ImageSource& a, const ImageSource& b) {
  std::vector<std::string> parts;
  if (!a.image) parts.push_back(cat("A is ", a.snapshot_reason));
  if (!b.image) parts.push_back(cat("B is ", b.snapshot_reason));
  if (parts.empty()) return "";
  return cat("files     not compared (snapshot-level diff): ", join(parts, ", and "), "\n");
}

int run_diff(const DiffFlags& flags) {
  image::Platform platform = diff_platform(flags.platform);
  store::Store store = store::Store::open(flags.store.empty() ? default_store_dir() : std::filesystem::path(flags.store));
  ImageSource a = load_image_source(store, flags.a, platform);
  ImageSource b = load_image_source(store, flags.b, platform);

  report::DiffReport diff = a.image && b.image
                                ? report::diff_images(*a.image, *b.image, store)
                                : report::diff_snapshots(snapshot_of(a, store), snapshot_of(b, store));
  std::cout << "A         " << a.text << "\n"
            << "B         " << b.text << "\n"
            << report::render_diff_text(diff) << files_note(a, b);

  if (!flags.json.empty())
    with_context(cat("writing ", quote(flags.json)),
                 [&] { write_file_atomic(flags.json, report::diff_to_json(diff).dump(2) + "\n"); });
  return static_cast<int>(ExitCode::success);
}

}  // namespace

Verb add_diff_verb(CLI::App& app) {
  auto flags = std::make_shared<DiffFlags>();
  CLI::App* command = app.add_subcommand("diff", "compare image B with image A: sizes, layers, packages and the largest added files");
  const std::string forms =
      ": oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME], docker://REF, a JSON report or record "
      "file, or previous[:NAME[:TARGET]] for the newest build in the store";
  command->add_option("A", flags->a, "image compared with" + forms)->required()->type_name("IMAGE");
  command->add_option("B", flags->b, "image compared (same forms as A)")->required()->type_name("IMAGE");
  command->add_option("--store", flags->store,
                      "store directory that holds build records and receives the images' blobs (default: $XDG_CACHE_HOME/imgbuild)")
      ->type_name("DIR");
  command->add_option("--json", flags->json, "also write the diff as JSON (the report document plus largest_added, duplicated and wasted_bytes) to FILE")
      ->type_name("FILE");
  command->add_option("--platform", flags->platform,
                      "platform os/arch[/variant] picked from multi-platform images, such as linux/arm64 (default: the host)")
      ->type_name("OS/ARCH");
  return Verb{command, [flags] { return run_diff(*flags); }};
}

}  // namespace imgbuild::cli
