// SPDX-License-Identifier: Apache-2.0
// `imgbuild build RECIPE` (also `imgbuild RECIPE`): every flag of
// build::BuildOptions.
#include <filesystem>
#include <memory>

#include "imgbuild/build/build.hpp"
#include "imgbuild/cli/cli.hpp"
#include "imgbuild/exec/user_namespace.hpp"
#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "verbs.hpp"

#include <unistd.h>

namespace imgbuild::cli {
namespace {

// The flags as typed; `finish` turns them into BuildOptions after parsing.
struct BuildFlags {
  build::BuildOptions options;
  std::string recipe;
  std::vector<std::string> build_args, secrets, registry_cas;
  std::string target, platform, format, compression, progress, store, report, metadata_file, baseline, vulns,
      runtime, network;
};

// Adds a repeatable option that takes one value per occurrence, so
// `--tag a RECIPE` does not swallow the recipe.
CLI::Option* add_list(CLI::App& command, const std::string& name, std::vector<std::string>& values,
                      const std::string& help) {
  return command.add_option(name, values, help)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_build_options(CLI::App& command, BuildFlags& flags) {
  build::BuildOptions& options = flags.options;
  command.add_option("RECIPE", flags.recipe, "recipe file (TOML) to build")->required();
  command.add_option("--target", flags.target, "stage to build into the image (default: [image] target, else the last stage)");
  add_list(command, "--build-arg", flags.build_args, "build arg as NAME=VALUE, overriding its [args] default; repeatable");
  add_list(command, "--secret", flags.secrets,
           "build secret as id=NAME,src=FILE or id=NAME,env=VAR, overriding [secrets]; repeatable");
  add_list(command, "-t,--tag", options.tags, "image tag or full reference, replacing [image] tags; repeatable");
  add_list(command, "--output", options.outputs,
           "destination oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REF, replacing [build] outputs; repeatable");
  command.add_option("--platform", flags.platform, "target platform os/arch[/variant], such as linux/amd64 (default: [build] platform, else the host)");
  command.add_option("--format", flags.format, "image format: oci or docker (default: [build] format)")
      ->check(CLI::IsMember({"oci", "docker"}));
  command.add_option("--compression", flags.compression, "layer compression: gzip or zstd (default: [build] compression)")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  command.add_flag("--no-cache", options.no_cache, "run every step again instead of reusing cached layers");
  command.add_flag("--pull", options.pull, "fetch registry bases again even when the store has them");
  command.add_flag("--locked", options.locked, "fail when a base resolves to a digest other than the one in the lock file");
  command.add_flag("--explain", options.explain, "print one line per cache miss naming the input that changed");
  command.add_flag("--load", options.load, "load the image into the local podman or docker after the build");
  command.add_option("--progress", flags.progress, "progress output on stderr: plain, tty or json (default: tty on a terminal, else plain)")
      ->check(CLI::IsMember({"plain", "tty", "json"}));
  command.add_option("--store", flags.store, "store directory for blobs and cache (default: $XDG_CACHE_HOME/imgbuild)");
  command.add_option("--report", flags.report, "write the build report (JSON) to FILE, replacing [report] file");
  command.add_option("--metadata-file", flags.metadata_file, "write the image digest and references (JSON) to FILE");
  command.add_option("--baseline", flags.baseline, "previous report JSON file or image to compare sizes and packages with");
  command.add_option("--vulns", flags.vulns, "vulnerability data (JSON) to match packages against, replacing [report] vulns");
  command.add_option("--runtime", flags.runtime, "OCI runtime for run steps: runc or crun (default: [build] runtime)")
      ->check(CLI::IsMember({"runc", "crun"}));
  command.add_option("--network", flags.network, "default network of run steps: host or none (default: [build] network)")
      ->check(CLI::IsMember({"host", "none"}));
  // The same range as [build] jobs.
  command.add_option("--jobs", options.jobs, "number of stages built in parallel (default: 0, one per core)")
      ->check(integer_range(0, 1024));
  add_list(command, "--insecure-registry", options.insecure_registries,
           "registry HOST[:PORT] reached over plain HTTP or without TLS verification (repeatable)");
  add_list(command, "--registry-ca", flags.registry_cas,
           "HOST[:PORT]=FILE: trust the PEM CA certificates in FILE for that registry (repeatable)");
  command.add_flag("-v,--verbose", options.verbose, "print debug messages");
}

std::optional<std::string> optional_text(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

std::optional<std::filesystem::path> optional_path(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return std::filesystem::path(text);
}

build::SecretSource parse_secret(const std::string& text) {
  build::SecretSource secret;
  for (const std::string& field : split(text, ',')) {
    std::size_t equals = field.find('=');
    std::string key = field.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : field.substr(equals + 1);
    if (key == "id") secret.id = value;
    else if (key == "src" || key == "source") secret.file = value;
    else if (key == "env") secret.env = value;
    else fail_with(ExitCode::usage, "invalid --secret ", quote(text), ": unknown field ", quote(key), "; use id=NAME,src=FILE or id=NAME,env=VAR");
  }
  if (secret.id.empty()) fail_with(ExitCode::usage, "invalid --secret ", quote(text), ": missing id=NAME");
  if (secret.file.empty() == secret.env.empty())
    fail_with(ExitCode::usage, "invalid --secret ", quote(text), ": give exactly one of src=FILE or env=VAR");
  return secret;
}

build::Progress parse_progress(const std::string& text) {
  if (text == "plain") return build::Progress::plain;
  if (text == "tty") return build::Progress::tty;
  if (text == "json") return build::Progress::json;
  return build::Progress::automatic;
}

// Converts the typed flags into options, checking the values CLI11 cannot.
void finish(BuildFlags& flags) {
  build::BuildOptions& options = flags.options;
  options.recipe = flags.recipe;
  for (const std::string& arg : flags.build_args) {
    std::size_t equals = arg.find('=');
    if (equals == 0 || equals == std::string::npos)
      fail_with(ExitCode::usage, "invalid --build-arg ", quote(arg), ": write NAME=VALUE");
    options.build_args[arg.substr(0, equals)] = arg.substr(equals + 1);
  }
  for (const std::string& secret : flags.secrets) options.secrets.push_back(parse_secret(secret));
  for (const std::string& entry : flags.registry_cas) {
    std::size_t equals = entry.find('=');
    if (equals == 0 || equals == std::string::npos || equals + 1 == entry.size())
      fail_with(ExitCode::usage, "invalid --registry-ca ", quote(entry), ": write HOST[:PORT]=FILE");
    options.registry_ca_files[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  // Checked here so that a bad tag fails before any step runs.
  for (const std::string& tag : options.tags) with_context("--tag", [&] { recipe::check_tag_or_reference(tag); });
  for (const std::string& output : options.outputs) recipe::parse_output(output, std::filesystem::current_path());
  if (!flags.platform.empty()) recipe::parse_platform(flags.platform);

  options.target = optional_text(flags.target);
  options.platform = optional_text(flags.platform);
  options.format = optional_text(flags.format);
  options.compression = optional_text(flags.compression);
  options.progress = parse_progress(flags.progress);
  options.store = optional_path(flags.store);
  options.report = optional_path(flags.report);
  options.metadata_file = optional_path(flags.metadata_file);
  options.baseline = optional_text(flags.baseline);
  options.vulns = optional_path(flags.vulns);
  options.runtime = optional_text(flags.runtime);
  options.network = optional_text(flags.network);
}

// Sets the log format from --progress; the default follows stderr.
void apply_logging(const build::BuildOptions& options) {
  switch (options.progress) {
    case build::Progress::plain: log::set_format(log::Format::plain); break;
    case build::Progress::tty: log::set_format(log::Format::tty); break;
    case build::Progress::json: log::set_format(log::Format::json); break;
    case build::Progress::automatic:
      log::set_format(::isatty(STDERR_FILENO) ? log::Format::tty : log::Format::plain);
      break;
  }
  log::set_verbose(options.verbose);
}

}  // namespace

Verb add_build_verb(CLI::App& app) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* command = app.add_subcommand("build", "build the image a recipe describes (the default verb)");
  add_build_options(*command, *flags);
  return Verb{command, [flags] {
                finish(*flags);
                apply_logging(flags->options);
                exec::warn_if_ids_limited();
                return static_cast<int>(build::run(flags->options));
              },
              true};
}

build::BuildOptions parse_build_options(const std::vector<std::string>& args) {
  CLI::App command("imgbuild build", "imgbuild build");
  BuildFlags flags;
  add_build_options(command, flags);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    command.parse(reversed);
  } catch (const CLI::ParseError& error) {
    fail_with(ExitCode::usage, error.what());
  }
  finish(flags);
  return flags.options;
}

}  // namespace imgbuild::cli
