// SPDX-License-Identifier: Apache-2.0
#include "build/finish.hpp"

#include <ctime>

#include "build/stage.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/image/layout.hpp"
#include "imgbuild/image/output.hpp"
#include "imgbuild/recipe/values.hpp"
#include "imgbuild/registry/reference.hpp"
#include "imgbuild/report/compare.hpp"
#include "imgbuild/report/policy.hpp"
#include "imgbuild/report/records.hpp"
#include "imgbuild/report/sbom.hpp"
#include "imgbuild/report/vulnerabilities.hpp"
#include "imgbuild/util/json.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

#ifndef IMGBUILD_VERSION
#define IMGBUILD_VERSION "0.1.0"
#endif

namespace imgbuild::build {
namespace {

report::Policy to_report_policy(const recipe::Policy& in) {
  report::Policy out;
  for (const auto& [ecosystem, patterns] : in.forbid_packages)
    for (const auto& pattern : patterns) out.forbidden_packages.push_back({report::parse_ecosystem(ecosystem), pattern});
  for (const auto& [ecosystem, patterns] : in.require_packages)
    for (const auto& pattern : patterns) out.required_packages.push_back({report::parse_ecosystem(ecosystem), pattern});
  out.forbidden_paths = in.forbid_paths;
  out.max_compressed_size = in.max_compressed_size;
  out.max_uncompressed_size = in.max_uncompressed_size;
  out.require_non_root_user = in.require_non_root;
  out.require_healthcheck = in.require_healthcheck;
  return out;
}

// The full references an image gets: recipe tags (or -t) on the recipe name.
std::vector<std::string> image_references(const Session& session) {
  std::vector<std::string> tags = session.options.tags.empty() ? session.recipe.image.tags : session.options.tags;
  std::vector<std::string> references;
  for (const auto& tag : tags) {
    bool full = tag.find('/') != std::string::npos || tag.find(':') != std::string::npos;
    references.push_back(full ? tag : session.recipe.image.name + ":" + tag);
  }
  if (references.empty()) references.push_back(session.recipe.image.name + ":latest");
  return references;
}

std::string tag_of(const std::string& reference) {
  auto slash = reference.rfind('/');
  auto colon = reference.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "latest";
  return reference.substr(colon + 1);
}

std::vector<std::string> tags_of(const std::vector<std::string>& references) {
  std::vector<std::string> tags;
  for (const auto& reference : references) tags.push_back(tag_of(reference));
  return tags;
}

report::Snapshot take_snapshot(Session& session, const recipe::Stage& stage, const StageResult& result,
                               const image::SerializedManifest& manifest, std::int64_t started) {
  report::Snapshot snapshot = report::snapshot_of_image(result.image, session.store);
  snapshot.name = session.recipe.image.name;
  snapshot.target = stage.name;
  snapshot.manifest_digest = manifest.manifest.digest;
  snapshot.config_digest = manifest.config.digest;
  snapshot.bases = result.bases;
  snapshot.allowed_secrets = result.allowed_secrets;
  snapshot.started = started;
  snapshot.finished = ::time(nullptr);
  return snapshot;
}

std::vector<report::Finding> check_policies(Session& session, const recipe::Stage& target,
                                            const report::Snapshot& snapshot) {
  std::vector<report::Finding> findings;
  if (session.recipe.policy) {
    auto found = report::evaluate_policy(to_report_policy(*session.recipe.policy), snapshot);
    findings.insert(findings.end(), found.begin(), found.end());
  }
  for (const auto& stage : session.recipe.stages) {
    if (!stage.policy) continue;
    std::lock_guard lock(session.results_mutex);
    auto it = session.results.find(stage.name);
    if (it == session.results.end()) continue;
    report::Snapshot stage_snapshot = &stage == &target ? snapshot : report::snapshot_of_image(it->second.image, session.store);
    auto found = report::evaluate_policy(to_report_policy(*stage.policy), stage_snapshot, stage.name);
    findings.insert(findings.end(), found.begin(), found.end());
  }
  return findings;
}

std::optional<report::Snapshot> previous_snapshot(Session& session, const recipe::Stage& target) {
  if (session.options.baseline) {
    std::filesystem::path path = *session.options.baseline;
    if (report::is_json_file(path)) return report::load_snapshot_file(path);
    // TODO: --baseline with an image reference; only JSON reports are read.
    fail("--baseline ", quote(path.string()), " is not a JSON report: pass a report written with --report");
  }
  return report::find_previous_build(session.store, session.recipe.image.name, target.name);
}

void write_sboms(Session& session, const report::Snapshot& snapshot) {
  const auto& section = session.recipe.report;
  if (section.sbom.empty()) return;
  // --report on the command line moves the SBOMs beside it too, so a build
  // aimed elsewhere does not overwrite the recipe's files.
  std::filesystem::path dir = session.options.report ? session.options.report->parent_path()
                              : section.sbom_dir     ? *section.sbom_dir
                              : section.file         ? section.file->parent_path()
                                                     : session.recipe.directory;
  if (dir.empty()) dir = ".";
  std::filesystem::create_directories(dir);
  report::SbomOptions options{IMGBUILD_VERSION, session.epoch};
  for (auto format : section.sbom) {
    bool spdx = format == recipe::SbomFormat::spdx;
    auto document = spdx ? report::spdx_document(snapshot, options) : report::cyclonedx_document(snapshot, options);
    std::filesystem::path file = dir / (spdx ? "sbom.spdx.json" : "sbom.cdx.json");
    write_file_atomic(file, json_text(document, 2) + "\n");
    session.progress.message(cat("SBOM written to ", file.string()));
  }
}

std::vector<std::string> output_texts(const Session& session) {
  if (!session.options.outputs.empty()) return session.options.outputs;
  std::vector<std::string> texts;
  for (const auto& output : session.recipe.build.outputs) {
    switch (output.transport) {
      case recipe::Output::Transport::oci:
        texts.push_back("oci:" + output.destination + (output.tag ? ":" + *output.tag : ""));
        break;
      case recipe::Output::Transport::oci_archive: texts.push_back("oci-archive:" + output.destination); break;
      case recipe::Output::Transport::docker_archive: texts.push_back("docker-archive:" + output.destination); break;
      case recipe::Output::Transport::docker: texts.push_back("docker://" + output.destination); break;
    }
  }
  return texts;
}

void push_image(Session& session, const image::Image& image, const std::string& reference_text) {
  image::SerializedManifest manifest = image::serialize(image, session.format);
  session.store.put_bytes(manifest.config_bytes);
  registry::PushRequest request;
  request.reference = registry::Reference::parse(reference_text);
  request.manifest = manifest.manifest_bytes;
  request.manifest_media_type = manifest.manifest.media_type;
  request.config = manifest.config;
  request.layers = manifest.layers;
  std::lock_guard lock(session.registry_mutex);
  auto on_blob = [&session, &reference_text](const registry::TransferProgress& progress) {
    if (!progress.done) return;
    session.progress.message(cat("push ", reference_text, ": blob ", progress.digest.str().substr(0, 19), " ",
                                 human_bytes(progress.total), " at ",
                                 human_bytes(static_cast<std::uint64_t>(progress.bytes_per_second)), "/s"));
  };
  registry::PushResult result = session.registry_client().push(session.store, request, on_blob);
  if (result.manifest_digest != manifest.manifest.digest)
    fail("registry returned digest ", result.manifest_digest.str(), " for ", reference_text, ", expected ",
         manifest.manifest.digest.str());
}

// Writes one --output destination; returns where it went, for the report.
std::string write_output(Session& session, const image::Image& image, const std::string& text,
                         const std::vector<std::string>& references) {
  image::OutputSpec spec = image::parse_output(text);
  std::filesystem::path path = spec.path.is_relative() ? std::filesystem::current_path() / spec.path : spec.path;
  if (spec.kind != image::OutputKind::registry && path.has_parent_path())
    std::filesystem::create_directories(path.parent_path());
  // skopeo and podman do not read Docker manifests from an OCI layout, so
  // layouts always get the OCI form, which has no healthcheck field.
  bool layout = spec.kind == image::OutputKind::oci_layout || spec.kind == image::OutputKind::oci_archive;
  if (layout && image::get_healthcheck(image.config))
    log::warn(cat(text, " is written in the OCI form, which has no healthcheck field, so the healthcheck is left "
                  "out there; docker-archive and docker:// outputs keep it"));
  switch (spec.kind) {
    case image::OutputKind::oci_layout: {
      std::vector<std::string> tags = spec.tag.empty() ? tags_of(references) : std::vector<std::string>{spec.tag};
      image::write_oci_layout(session.store, image, path, tags, image::Format::oci);
      return cat("oci:", path.string(), ":", join(tags, ","));
    }
    case image::OutputKind::oci_archive:
      image::write_oci_archive(session.store, image, path, references, image::Format::oci);
      return "oci-archive:" + path.string();
    case image::OutputKind::docker_archive:
      image::write_docker_archive(session.store, image, path, references);
      return "docker-archive:" + path.string();
    case image::OutputKind::registry:
      push_image(session, image, spec.reference);
      return "docker://" + spec.reference;
  }
  return text;
}

void write_metadata(Session& session, const image::SerializedManifest& manifest,
                    const std::vector<std::string>& references, const std::vector<std::string>& outputs) {
  if (!session.options.metadata_file) return;
  nlohmann::json metadata = {{"image.name", join(references, ",")},
                             {"image.tags", tags_of(references)},
                             {"containerimage.digest", manifest.manifest.digest.str()},
                             {"containerimage.config.digest", manifest.config.digest.str()},
                             {"containerimage.mediatype", manifest.manifest.media_type},
                             {"outputs", outputs}};
  write_file_atomic(*session.options.metadata_file, json_text(metadata, 2) + "\n");
}

}  // namespace

ExitCode finish_build(Session& session, const recipe::Stage& target, StageResult& result, std::int64_t started) {
  image::ImageAnnotations annotations{result.base_name, result.base_digest, "", ""};
  if (session.context) {
    auto extra = session.context->annotations();
    annotations.source = extra[image::annotation::source];
    annotations.revision = extra[image::annotation::revision];
  }
  image::set_image_annotations(result.image, annotations);
  image::check_layer_history(result.image);
  image::SerializedManifest manifest = image::serialize(result.image, session.format);
  std::vector<std::string> references = image_references(session);

  report::Snapshot snapshot = take_snapshot(session, target, result, manifest, started);
  snapshot.findings = check_policies(session, target, snapshot);
  std::filesystem::path vulns = session.options.vulns ? *session.options.vulns
                                : session.recipe.report.vulns ? *session.recipe.report.vulns : std::filesystem::path();
  if (!vulns.empty()) {
    std::string release = snapshot.os.codename.empty() ? "bookworm" : snapshot.os.codename;
    snapshot.vulnerabilities = report::SecurityTracker::load(vulns).count(snapshot.packages, release);
  }
  snapshot.success = snapshot.findings.empty();

  report::Report report = report::compare(previous_snapshot(session, target), snapshot);
  std::vector<std::string> written;
  if (snapshot.success) {
    std::vector<std::string> texts = output_texts(session);
    if (texts.empty()) {
      // Without an output the image stays in the store, as an OCI layout
      // named after the image, so `imgbuild diff` and later builds find it.
      std::filesystem::path layout = session.store.root() / "images" / report::escape_record_name(session.recipe.image.name);
      texts.push_back("oci:" + layout.string());
    }
    for (const auto& text : texts) written.push_back(write_output(session, result.image, text, references));
    if (session.options.load) image::load_into_engine(session.store, result.image, references.front(), image::Engine::podman);
  }

  report::write_record(session.store, snapshot);
  std::string text = report::render_text(report);
  if (session.progress.mode() == Progress::json)
    log::event({{"event", "report"}, {"report", report::report_to_json(report)}}, {});
  else
    log::raw(text.empty() || text.back() == '\n' ? text : text + "\n");
  for (const auto& where : written) session.progress.message(cat("wrote ", where));
  std::optional<std::filesystem::path> report_file = session.options.report ? session.options.report : session.recipe.report.file;
  if (report_file) {
    if (report_file->has_parent_path()) std::filesystem::create_directories(report_file->parent_path());
    write_file_atomic(*report_file, json_text(report::report_to_json(report), 2) + "\n");
  }
  write_sboms(session, snapshot);
  write_metadata(session, manifest, references, written);
  session.progress.message(cat("image ", references.front(), " ", manifest.manifest.digest.str()));
  return snapshot.success ? ExitCode::success : ExitCode::policy;
}

}  // namespace imgbuild::build
