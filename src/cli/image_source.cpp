// SPDX-License-Identifier: Apache-2.0
#include "image_source.hpp"

#include <nlohmann/json.hpp>
#include <tuple>

#include "imgbuild/image/layout.hpp"
#include "imgbuild/registry/client.hpp"
#include "imgbuild/report/records.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view accepted_forms =
    "oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME], docker://REF, a JSON report or "
    "record file, or previous[:NAME[:TARGET]]";

// Splits "PATH[:REST]" at the first ':', as image::parse_output does for --output.
std::pair<std::string, std::string> split_path(std::string_view text) {
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

void require_path(const std::string& text, const std::string& path) {
  if (path.empty()) fail_with(ExitCode::usage, "invalid image ", quote(text), ": missing path; use ", accepted_forms);
}

// The report shows `name`; loaders of local files set only the tag there.
ImageSource from_image(const std::string& text, image::Image image, const std::string& name) {
  image.name = name;
  return ImageSource{text, std::move(image), std::nullopt, ""};
}

// Returns true when `a` finished after `b`. The file name, which contains
// the sequence number, breaks ties.
bool newer(const report::Snapshot& a, const fs::path& a_file, const report::Snapshot& b, const fs::path& b_file) {
  return std::tie(a.finished, a.started, a_file) > std::tie(b.finished, b.started, b_file);
}

// Returns the newest successful record anywhere below `directory`.
std::optional<report::Snapshot> newest_record(const fs::path& directory) {
  std::optional<report::Snapshot> best;
  fs::path best_file;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(directory, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    try {
      std::string text = read_file(it->path());
      // An empty file is a record another build is still writing.
      if (text.empty()) continue;
      report::Snapshot snapshot = report::snapshot_from_json(nlohmann::json::parse(text));
      if (snapshot.success && (!best || newer(snapshot, it->path(), *best, best_file))) {
        best = std::move(snapshot);
        best_file = it->path();
      }
    } catch (const std::exception& failure) {
      log::warn(cat("skipping build record ", quote(it->path().string()), ": ", failure.what()));
    }
  }
  return best;
}

// Splits "NAME[:TARGET]". Image names may contain a registry port
// ("127.0.0.1:5000/app"), so only a last part without '/' is a target.
std::pair<std::string, std::string> split_name_target(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find('/', colon) != std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

report::Snapshot find_record(const store::Store& store, std::string_view rest) {
  auto [name, target] = split_name_target(rest);
  std::optional<report::Snapshot> found;
  if (!target.empty()) found = report::find_previous_build(store, name, target);
  else if (!name.empty()) found = newest_record(store.records_dir() / report::escape_record_name(name));
  else found = newest_record(store.records_dir());
  if (!found) {
    std::string subject = name.empty() ? "" : cat(" of ", quote(target.empty() ? name : name + ":" + target));
    fail("no successful build record", subject, " in ", quote(store.records_dir().string()),
         "; build the image first, or pass --store with the store the build used");
  }
  return *found;
}

// Loads the image of a build record from the store's layout of that image,
// which the build writes when it has no outputs. Without it only the
// record's snapshot is known.
ImageSource from_record(store::Store& store, const std::string& text, report::Snapshot record,
                        const image::Platform& platform) {
  fs::path layout = store.root() / "images" / report::escape_record_name(record.name);
  std::string reason = cat("the build record of ", quote(record.name), ", whose image is not in ",
                           quote(layout.string()), " (builds with outputs keep none there)");
  if (record.manifest_digest && fs::exists(layout / "index.json")) {
    try {
      image::Image image = image::load_oci_layout(store, layout, record.manifest_digest->str(), platform);
      return from_image(text, std::move(image), record.name);
    } catch (const Error& failure) {
      // Usually a later build of the same name moved the tag and so dropped
      // this manifest from the layout. Then only the record is left.
      log::debug(cat("loading ", record.manifest_digest->str(), " from ", quote(layout.string()), ": ", failure.what()));
    }
  }
  return ImageSource{text, std::nullopt, std::move(record), reason};
}

ImageSource from_json_file(const std::string& text) {
  report::Snapshot snapshot = report::load_snapshot_file(text);
  return ImageSource{text, std::nullopt, std::move(snapshot), "a JSON report or build record"};
}

ImageSource load_by_form(store::Store& store, const std::string& text, const image::Platform& platform) {
  std::string_view view = text;
  if (starts_with(view, "oci:")) {
    auto [path, tag] = split_path(view.substr(4));
    require_path(text, path);
    return from_image(text, image::load_oci_layout(store, path, tag, platform), text);
  }
  if (starts_with(view, "oci-archive:")) {
    auto [path, tag] = split_path(view.substr(12));
    require_path(text, path);
    return from_image(text, image::load_oci_archive(store, path, tag, platform), text);
  }
  if (starts_with(view, "docker-archive:")) {
    auto [path, name] = split_path(view.substr(15));
    require_path(text, path);
    return from_image(text, image::load_docker_archive(store, path, name), text);
  }
  if (starts_with(view, "docker://")) {
    registry::Reference reference = registry::Reference::parse(view.substr(9));
    registry::Client client;
    return from_image(text, client.pull_image(reference, platform, store), reference.str());
  }
  if (view == "previous" || starts_with(view, "previous:")) {
    std::string_view rest = view == "previous" ? std::string_view{} : view.substr(9);
    return from_record(store, text, find_record(store, rest), platform);
  }
  if (ends_with(view, ".json") || (fs::is_regular_file(text) && report::is_json_file(text))) return from_json_file(text);
  if (fs::exists(text))
    fail_with(ExitCode::usage, "invalid image ", quote(text), ": a file is read only as a JSON report or record; for "
              "an image file write oci-archive:", text, " or docker-archive:", text);
  fail_with(ExitCode::usage, "invalid image ", quote(text), ": use ", accepted_forms);
}

}  // namespace

ImageSource load_image_source(store::Store& store, const std::string& text, const image::Platform& platform) {
  std::string context = cat("reading ", quote(text));
  try {
    return load_by_form(store, text, platform);
  } catch (const Error& failure) {
    if (failure.code() == ExitCode::usage) throw;
    throw failure.with_context(context);
  } catch (const std::exception& failure) {
    // Library errors (filesystem, JSON) do not name the input themselves.
    throw Error(cat(context, ": ", failure.what()));
  }
}

report::Snapshot snapshot_of(const ImageSource& source, const store::Store& store) {
  if (source.image) return report::snapshot_of_image(*source.image, store);
  return *source.snapshot;
}

}  // namespace imgbuild::cli
