// SPDX-License-Identifier: Apache-2.0
// The recipe model: what a validated recipe file says, with defaults filled
// in and relative paths resolved against the recipe's directory. Every key is
// documented in docs/recipe.md. Values that may contain ${ARG} references
// (copy sources and destinations, env values, workdir, user, base strings,
// ports, volumes, labels) are kept as written; the build expands them with
// imgbuild::recipe::expand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "imgbuild/recipe/diagnostics.hpp"

namespace imgbuild::recipe {

namespace fs = std::filesystem;

// A value together with where the recipe sets it.
template <typename T>
struct Located {
  T value;
  Position position;
};

// One environment variable, in the order the recipe declares it.
struct EnvVar {
  std::string name;
  std::string value;
  Position position;
};

// [image]
struct ImageSection {
  std::string name;                         // reference without tag: "localhost/backend"
  std::vector<std::string> tags{"latest"};
  std::optional<std::string> target;        // nothing: the last stage
  Position position;
  std::map<std::string, Position> positions;  // key -> where it is set
};

// One entry of [args]: a build arg and its default ("" means unset unless
// --build-arg gives a value).
struct Arg {
  std::string name;
  std::string default_value;
  Position position;
};

// [context]
struct ContextSection {
  fs::path dir;                             // absolute; with `git`, a subdirectory inside the repository
  std::optional<std::string> git;           // URL, or an absolute path to a local repository
  std::optional<std::string> ref;           // branch, tag or commit; nothing: the repository's HEAD
  std::optional<fs::path> ignore_file;      // relative to the context root; nothing: .imgbuildignore, else .dockerignore
  std::vector<std::string> allow;           // globs the secrets guard lets through
  Position position;
};

// One entry of [secrets]: where the value of a build secret comes from. With
// neither `file` nor `env` the value must come from --secret.
struct SecretDecl {
  std::string id;
  std::optional<fs::path> file;             // absolute
  std::optional<std::string> env;
  Position position;
};

enum class ImageFormat { oci, docker };
enum class Compression { gzip, zstd };
enum class Network { host, none };

// An output destination: `oci:DIR[:TAG]`, `oci-archive:FILE`,
// `docker-archive:FILE` or `docker://REF`.
struct Output {
  enum class Transport { oci, oci_archive, docker_archive, docker };
  Transport transport = Transport::oci;
  std::string destination;                  // absolute path, or the reference for docker://
  std::optional<std::string> tag;           // oci: only
  Position position;
};

// [build]
struct BuildSection {
  std::optional<ImageFormat> format;        // nothing: oci, docker when the target declares a healthcheck
  Compression compression = Compression::gzip;
  std::optional<std::string> platform;      // "os/arch[/variant]"; nothing: the host
  std::optional<std::string> runtime;       // "runc" or "crun"; nothing: the first that starts
  Network network = Network::host;          // default network of run steps
  bool no_new_privileges = false;
  int jobs = 0;                             // stages built in parallel; 0: number of cores
  std::optional<std::int64_t> source_date_epoch;  // seconds; SOURCE_DATE_EPOCH in the environment wins
  std::vector<std::string> volatile_paths;  // globs relative to the rootfs, left out of run-step layers
  std::vector<Output> outputs;
  std::map<std::string, Position> positions;  // key -> where it is set
};

// The files left out of run-step layers when [build] has no `volatile` key:
// logs and caches that change on every run and make layers irreproducible.
const std::vector<std::string>& default_volatile_paths();

enum class SbomFormat { spdx, cyclonedx };

// [report]
struct ReportSection {
  std::optional<fs::path> file;             // absolute
  std::vector<SbomFormat> sbom;
  std::optional<fs::path> sbom_dir;         // absolute; nothing: beside the report file, else the recipe directory
  std::optional<fs::path> vulns;            // absolute
  Position position;
};

// [policy] or [stage.policy]. Package patterns are globs keyed by ecosystem
// ("deb", "python"); sizes are bytes.
struct Policy {
  std::map<std::string, std::vector<std::string>> forbid_packages;
  std::map<std::string, std::vector<std::string>> require_packages;
  std::vector<std::string> forbid_paths;    // absolute globs
  std::optional<std::uint64_t> max_compressed_size;
  std::optional<std::uint64_t> max_uncompressed_size;
  bool require_non_root = false;
  bool require_healthcheck = false;
  Position position;
  std::map<std::string, Position> positions;  // key -> where it is set, for violation messages
};

// [stage.base.debian]: a root filesystem made by mmdebstrap.
struct DebianBase {
  std::string suite;                        // required: "bookworm"
  std::string variant = "minbase";
  std::vector<std::string> packages;
  std::optional<std::string> architecture;  // nothing: from the platform
  std::optional<std::string> snapshot;      // "20241201T000000Z"
  std::string mirror;                       // default: deb.debian.org, or snapshot.debian.org with `snapshot`
  std::vector<std::string> sources;         // extra one-line sources.list entries
  Position position;
};

// Where a stage starts. `text` is the base string as written; the build
// expands ${ARG} references in it before use.
struct Base {
  enum class Kind { scratch, stage, oci_layout, oci_archive, docker_archive, registry, debian };
  Kind kind = Kind::scratch;
  std::string text;
  std::string stage;                        // Kind::stage
  fs::path path;                            // oci_layout, oci_archive, docker_archive: absolute
  std::optional<std::string> tag;           // oci_layout: ":TAG"
  std::optional<std::string> digest;        // oci_layout: "@sha256:..."
  std::string reference;                    // registry: without the docker:// prefix
  DebianBase debian;                        // Kind::debian
  Position position;
};

// A cache mount of a run step: a directory kept between builds.
struct CacheMount {
  enum class Sharing { shared, private_, locked };
  std::string target;                       // absolute path in the container
  std::string id;                           // default: the target
  Sharing sharing = Sharing::shared;
  Position position;
};

struct RunStep {
  std::vector<std::string> argv;            // the argv form, or shell + the script
  bool shell_form = false;                  // true when the recipe gave a string
  std::vector<EnvVar> env;                  // extra env for this step only
  std::optional<Network> network;           // nothing: [build] network
  std::vector<Located<std::string>> secrets;
  std::vector<CacheMount> cache;
};

struct CopyStep {
  std::vector<Located<std::string>> sources;  // context-relative globs, or paths in the `from` stage
  std::optional<Located<std::string>> from;   // a stage name
  Located<std::string> destination;           // absolute, or relative to the workdir
  std::optional<std::string> owner;           // "uid:gid", "name" or "name:group"
  std::optional<std::uint32_t> mode;          // permission bits, up to 07777
};

// An env step without `run`: sets variables for every later step and the image.
struct EnvStep {
  std::vector<EnvVar> env;
};

struct WorkdirStep {
  std::string path;
};

struct UserStep {
  std::string user;
};

enum class StepKind { run, copy, env, workdir, user };

// One [[stage.step]]. `args` are build args visible from this step to the end
// of the stage (an ARG line before it in Dockerfile terms).
struct Step {
  std::size_t number = 0;                   // 1-based within its stage, for messages
  std::vector<Located<std::string>> args;
  std::variant<RunStep, CopyStep, EnvStep, WorkdirStep, UserStep> body;
  Position position;

  StepKind kind() const { return static_cast<StepKind>(body.index()); }
};

const char* to_string(StepKind kind);

// healthcheck in [stage.config]. Durations are nanoseconds; nothing means
// the runtime default.
struct Healthcheck {
  std::vector<std::string> test;            // ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]
  std::optional<std::int64_t> interval;
  std::optional<std::int64_t> timeout;
  std::optional<std::int64_t> start_period;
  std::optional<int> retries;
  Position position;
};

// [stage.config]: the image config when the stage is the target. Unset keys
// keep the base image's value.
struct StageConfig {
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::vector<EnvVar> env;
  std::vector<std::string> ports;           // normalized "8000/tcp"
  std::vector<std::string> volumes;
  std::vector<std::pair<std::string, std::string>> labels;       // in recipe order
  std::vector<std::pair<std::string, std::string>> annotations;  // in recipe order
  std::optional<std::string> stop_signal;
  std::optional<Healthcheck> healthcheck;
  Position position;
  std::map<std::string, Position> positions;
};

// [[stage]]
struct Stage {
  std::string name;
  std::size_t index = 0;                    // 0-based position in the recipe
  Base base;
  std::vector<Located<std::string>> args;   // visible to every step
  std::vector<std::string> shell{"/bin/sh", "-c"};
  std::vector<Step> steps;
  StageConfig config;
  std::optional<Policy> policy;
  Position position;
};

// A whole recipe.
struct Recipe {
  fs::path file;                            // as given
  fs::path directory;                       // absolute directory of the file
  ImageSection image;
  std::vector<Arg> args;
  ContextSection context;
  std::vector<SecretDecl> secrets;
  BuildSection build;
  ReportSection report;
  std::optional<Policy> policy;
  std::vector<Stage> stages;

  // Returns the stage named `name`, or nullptr.
  const Stage* find_stage(std::string_view name) const;
  // Returns the stage built for the image: `target` when given, else
  // [image] target, else the last stage. Throws Error (usage) for an unknown name.
  const Stage& target_stage(const std::optional<std::string>& target = std::nullopt) const;
};

// Describes a step for messages: "step 2 of stage 'runtime'".
std::string describe(const Stage& stage, const Step& step);

// Summarizes a step on one line for progress output and `imgbuild check`:
// "copy app/ -> /app/ from 'builder'", "run python3 -m venv /opt/venv".
std::string summarize(const Step& step);

// Summarizes a base: "scratch", "stage 'builder'", "debian bookworm (minbase)
// with python3, curl", or the image reference or path.
std::string summarize(const Base& base);

// Returns the names of the build args a step sees: the stage's args, then the
// args of this and every earlier step, each once.
std::vector<std::string> visible_args(const Stage& stage, std::size_t step_index);

}  // namespace imgbuild::recipe
