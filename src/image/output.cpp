// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/image/output.hpp"

#include <vector>

#include "imgbuild/image/layout.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::image {

namespace {

constexpr std::string_view accepted_forms =
    "use oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REGISTRY/NAME[:TAG]";

[[noreturn]] void fail_output(std::string_view text, std::string_view problem) {
  fail_with(ExitCode::usage, "invalid output ", quote(text), ": ", problem, "; ", accepted_forms);
}

// Checks the parts of a registry reference that a typo usually breaks:
// upper-case letters or spaces in the repository, an empty tag.
void check_reference(std::string_view text, std::string_view reference) {
  if (reference.empty()) fail_output(text, "the reference after 'docker://' is empty");
  std::string_view name = reference.substr(0, reference.find('@'));
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    if (colon + 1 == name.size()) fail_output(text, "the tag after ':' is empty");
    name = name.substr(0, colon);
  }
  std::string_view repository = slash == std::string_view::npos ? name : name.substr(name.find('/') + 1);
  for (char c : repository) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
    if (!allowed) fail_output(text, cat("repository ", quote(repository), " may contain only a-z, 0-9, '.', '_', '-' and '/'"));
  }
}

}  // namespace

OutputSpec parse_output(std::string_view text) {
  OutputSpec spec;
  if (starts_with(text, "docker://")) {
    spec.kind = OutputKind::registry;
    spec.reference = std::string(text.substr(9));
    check_reference(text, spec.reference);
    return spec;
  }

  auto colon = text.find(':');
  if (colon == std::string_view::npos) fail_output(text, "it has no transport prefix");
  std::string_view transport = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (transport == "oci") {
    spec.kind = OutputKind::oci_layout;
    auto tag_colon = rest.find(':');
    spec.path = std::string(rest.substr(0, tag_colon));
    if (tag_colon != std::string_view::npos) {
      spec.tag = std::string(rest.substr(tag_colon + 1));
      if (spec.tag.empty()) fail_output(text, "the tag after the directory is empty");
    }
  } else if (transport == "oci-archive") {
    spec.kind = OutputKind::oci_archive;
    spec.path = std::string(rest);
  } else if (transport == "docker-archive") {
    spec.kind = OutputKind::docker_archive;
    spec.path = std::string(rest);
  } else {
    std::vector<std::string> known = {"oci", "oci-archive", "docker-archive", "docker"};
    auto hint = nearest(transport, known);
    fail_output(text, cat("unknown transport ", quote(transport), hint ? cat(" (did you mean ", quote(*hint), "?)") : ""));
  }
  if (spec.path.empty()) fail_output(text, "the path is empty");
  return spec;
}

Engine parse_engine(std::string_view text) {
  if (text == "podman") return Engine::podman;
  if (text == "docker") return Engine::docker;
  fail_with(ExitCode::usage, "invalid engine ", quote(text), ": use 'podman' or 'docker'");
}

std::string load_into_engine(const store::Store& store, const Image& image, const std::string& name, Engine engine) {
  std::string program = engine == Engine::podman ? "podman" : "docker";
  return with_context(cat("loading the image into ", program, " as ", quote(name)), [&] {
    if (!find_program(program)) fail(program, " not found in PATH: install it or drop --load");
    TempDir scratch("load-", store.tmp_dir());
    fs::path archive = scratch / "image.tar";
    write_docker_archive(store, image, archive, {name});
    return run_checked({program, "load", "-i", archive.string()});
  });
}

}  // namespace imgbuild::image
