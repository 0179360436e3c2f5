// SPDX-License-Identifier: Apache-2.0
// The command line: verbs, flags, messages and exit codes of the real binary.
#include <catch2/catch.hpp>

#include "imgbuild/cli/cli.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/toolkit.hpp"

namespace test = imgbuild::test;
using imgbuild::build::BuildOptions;

namespace {

std::string backend_recipe() { return (test::source_dir() / "recipes/backend.toml").string(); }

}  // namespace

TEST_CASE("cli: check prints backend stages", "[cli]") {
  imgbuild::ProcessResult result = test::run_imgbuild({"check", backend_recipe()});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("build order: builder -> runtime\n") != std::string::npos);
  std::size_t builder = result.out.find("stage 'builder' from debian bookworm (minbase) with build-essential");
  std::size_t runtime = result.out.find("stage 'runtime' (target) from debian bookworm (minbase) with python3, curl, ca-certificates");
  CHECK(builder != std::string::npos);
  CHECK(runtime != std::string::npos);
  CHECK(builder < runtime);
  CHECK(result.out.find("  2. copy /opt/venv -> /opt/venv from 'builder'") != std::string::npos);
  CHECK(result.out.find("  healthcheck [\"CMD\", \"curl\", \"-fsS\", \"http://127.0.0.1:8000/api/v1/health\"]") !=
        std::string::npos);
  CHECK(result.err.empty());
}

TEST_CASE("cli: check target and unused stages", "[cli]") {
  imgbuild::ProcessResult result = test::run_imgbuild({"check", "--target", "builder", backend_recipe()});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("build order: builder\n") != std::string::npos);
  CHECK(result.out.find("not needed for 'builder': runtime\n") != std::string::npos);

  imgbuild::ProcessResult unknown = test::run_imgbuild({"check", "--target", "runtme", backend_recipe()});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "imgbuild: error: unknown target stage 'runtme' in '" + backend_recipe() +
                           "'; did you mean 'runtime'?\n");
}

TEST_CASE("cli: recipe errors exit 2 with diagnostics", "[cli]") {
  imgbuild::TempDir dir;
  test::write(dir / "bad.toml", R"([image]
name = "localhost/app"

[[stage]]
name = "runtime"
base = "scratch"

[[stage.step]]
enviroment = { A = "1" }

[[stage.step]]
copy = "x"
from = "buidler"
to = "/x"
)");
  imgbuild::ProcessOptions options;
  options.working_directory = dir.path();
  for (std::string verb : {"check", "build"}) {
    imgbuild::ProcessResult result = test::run_imgbuild({verb, "bad.toml"}, options);
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err ==
          "bad.toml:9:1: unknown key 'enviroment' in step 1 of stage 'runtime'; did you mean 'env'?\n"
          "    enviroment = { A = \"1\" }\n"
          "    ^\n"
          "bad.toml:13:8: unknown stage 'buidler' in 'from' of step 2 of stage 'runtime'\n"
          "    from = \"buidler\"\n"
          "           ^\n"
          "imgbuild: error: 2 errors in bad.toml\n");
  }
}

TEST_CASE("cli: cycle exits 2", "[cli]") {
  imgbuild::TempDir dir;
  test::write(dir / "cycle.toml", "[image]\nname = \"app\"\n[[stage]]\nname = \"a\"\nbase = \"b\"\n"
                                   "[[stage]]\nname = \"b\"\nbase = \"a\"\n");
  imgbuild::ProcessResult result = test::run_imgbuild({"check", (dir / "cycle.toml").string()});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find(":5:8: stages form a cycle: stage 'a' -> 'b' -> 'a'\n") != std::string::npos);
  CHECK(result.err.ends_with("imgbuild: error: 1 error in " + (dir / "cycle.toml").string() + "\n"));
}

TEST_CASE("cli: missing recipe file", "[cli]") {
  imgbuild::ProcessResult result = test::run_imgbuild({"check", "/nonexistent/r.toml"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.starts_with("imgbuild: error: cannot read recipe: "));
  CHECK(result.err.find("/nonexistent/r.toml") != std::string::npos);
}

TEST_CASE("cli: usage errors exit 2", "[cli]") {
  imgbuild::ProcessResult unknown_flag = test::run_imgbuild({"build", "--no-such-flag", backend_recipe()});
  CHECK(unknown_flag.exit_code == 2);
  CHECK(unknown_flag.err.starts_with("imgbuild: error: "));
  CHECK(unknown_flag.err.find("--no-such-flag") != std::string::npos);
  CHECK(unknown_flag.err.ends_with("; run 'imgbuild --help' for usage\n"));

  imgbuild::ProcessResult bad_format = test::run_imgbuild({"--format", "tar", backend_recipe()});
  CHECK(bad_format.exit_code == 2);
  CHECK(bad_format.err.find("tar") != std::string::npos);

  imgbuild::ProcessResult no_recipe = test::run_imgbuild({"check"});
  CHECK(no_recipe.exit_code == 2);
  CHECK(no_recipe.err.find("RECIPE") != std::string::npos);

  imgbuild::ProcessResult bad_arg = test::run_imgbuild({"--build-arg", "NOVALUE", backend_recipe()});
  CHECK(bad_arg.exit_code == 2);
  CHECK(bad_arg.err == "imgbuild: error: invalid --build-arg 'NOVALUE': write NAME=VALUE\n");
}

TEST_CASE("cli: help and version", "[cli]") {
  imgbuild::ProcessResult help = test::run_imgbuild({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("build") != std::string::npos);
  CHECK(help.out.find("check") != std::string::npos);
  CHECK(help.out.find("130 interrupted") != std::string::npos);

  imgbuild::ProcessResult build_help = test::run_imgbuild({"build", "--help"});
  CHECK(build_help.exit_code == 0);
  CHECK(build_help.out.find("--jobs") != std::string::npos);
  CHECK(build_help.out.find("number of stages built in parallel") != std::string::npos);

  imgbuild::ProcessResult version = test::run_imgbuild({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.starts_with("imgbuild "));
}

TEST_CASE("cli: default verb is build", "[cli]") {
  // A scratch stage copying a missing file fails in the build pipeline
  // within a second, so both spellings must reach the same build error.
  imgbuild::TempDir dir;
  test::write(dir / "r.toml", "[image]\nname = \"app\"\n[[stage]]\nname = \"s\"\nbase = \"scratch\"\n"
                               "[[stage.step]]\ncopy = \"missing.txt\"\nto = \"/\"\n");
  std::string recipe = (dir / "r.toml").string();
  std::string store = (dir / "store").string();
  imgbuild::ProcessResult implicit = test::run_imgbuild({recipe, "--progress", "plain", "--store", store});
  imgbuild::ProcessResult explicit_build =
      test::run_imgbuild({"build", recipe, "--progress", "plain", "--store", store});
  CHECK(implicit.exit_code == 1);
  CHECK(explicit_build.exit_code == 1);
  CHECK(implicit.err.find("imgbuild: error: step 1 of stage 's'") != std::string::npos);
  CHECK(explicit_build.err.find("imgbuild: error: step 1 of stage 's'") != std::string::npos);
}

TEST_CASE("cli: invalid tags fail before steps", "[cli]") {
  // The copy would fail if it ran, so an exit code of 2 with only the tag
  // message shows that no step started.
  imgbuild::TempDir dir;
  test::write(dir / "r.toml", "[image]\nname = \"app\"\n[[stage]]\nname = \"s\"\nbase = \"scratch\"\n"
                               "[[stage.step]]\ncopy = \"missing.txt\"\nto = \"/\"\n");
  std::string recipe = (dir / "r.toml").string();
  std::string store = (dir / "store").string();
  for (std::string tag : {"bad:tag:x", ":x", "-x", "", "a b"}) {
    INFO("tag '" << tag << "'");
    imgbuild::ProcessResult result =
        test::run_imgbuild({"build", recipe, "--progress", "plain", "--store", store, "-t", tag});
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err.starts_with("imgbuild: error: --tag: invalid "));
    CHECK(result.err.find(imgbuild::quote(tag)) != std::string::npos);
    CHECK(result.err.find("missing.txt") == std::string::npos);
  }
}

TEST_CASE("cli: missing report inputs fail first", "[cli]") {
  // As above, the failing copy shows whether any step ran.
  imgbuild::TempDir dir;
  std::string steps = "[[stage]]\nname = \"s\"\nbase = \"scratch\"\n[[stage.step]]\ncopy = \"missing.txt\"\nto = \"/\"\n";
  test::write(dir / "r.toml", "[image]\nname = \"app\"\n" + steps);
  test::write(dir / "with-vulns.toml", "[image]\nname = \"app\"\n[report]\nvulns = \"tracker.json\"\n" + steps);
  std::string store = (dir / "store").string();
  auto build = [&](const std::string& recipe, std::vector<std::string> extra) {
    std::vector<std::string> args = {"build", (dir / recipe).string(), "--progress", "plain", "--store", store};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_imgbuild(args);
  };
  std::string missing = (dir / "missing.json").string();

  imgbuild::ProcessResult baseline = build("r.toml", {"--baseline", missing});
  CHECK(baseline.exit_code == 2);
  CHECK(baseline.err ==
        "imgbuild: error: --baseline: not found: '" + missing + "'; pass a report written with --report\n");

  imgbuild::ProcessResult vulns = build("r.toml", {"--vulns", missing});
  CHECK(vulns.exit_code == 2);
  CHECK(vulns.err == "imgbuild: error: --vulns: not found: '" + missing +
                         "'; pass the JSON export of the Debian security tracker\n");

  imgbuild::ProcessResult recipe_vulns = build("with-vulns.toml", {});
  CHECK(recipe_vulns.exit_code == 2);
  CHECK(recipe_vulns.err == "imgbuild: error: [report] vulns: not found: '" + (dir / "tracker.json").string() +
                                "'; pass the JSON export of the Debian security tracker\n");

  // A file that exists is read after the build, so the step runs and fails.
  test::write(dir / "not-a-report.txt", "text\n");
  imgbuild::ProcessResult existing = build("r.toml", {"--baseline", (dir / "not-a-report.txt").string()});
  CHECK(existing.exit_code == 1);
  CHECK(existing.err.find("copy source 'missing.txt' not found") != std::string::npos);
}

TEST_CASE("cli: out of range epoch exits 2", "[cli]") {
  imgbuild::TempDir dir;
  std::string steps = "[[stage]]\nname = \"s\"\nbase = \"scratch\"\n[[stage.step]]\ncopy = \"missing.txt\"\nto = \"/\"\n";
  test::write(dir / "r.toml", "[image]\nname = \"app\"\n" + steps);
  test::write(dir / "late.toml", "[image]\nname = \"app\"\n[build]\nsource_date_epoch = 9223372036854775807\n" + steps);
  std::string store = (dir / "store").string();

  imgbuild::ProcessResult checked = test::run_imgbuild({"check", (dir / "late.toml").string()});
  CHECK(checked.exit_code == 2);
  CHECK(checked.err.starts_with(
      (dir / "late.toml").string() + ":4:21: 'source_date_epoch' in [build] is 9223372036854775807, out of range: "
                                    "use an integer from 0 to 253402300799 (9999-12-31T23:59:59Z), in seconds since "
                                    "1970-01-01 UTC\n"));

  imgbuild::ProcessOptions late_env;
  late_env.extra_env = {"SOURCE_DATE_EPOCH=253402300800"};
  imgbuild::ProcessResult built = test::run_imgbuild(
      {"build", (dir / "r.toml").string(), "--progress", "plain", "--store", store}, late_env);
  CHECK(built.exit_code == 2);
  CHECK(built.err.find("imgbuild: error: invalid SOURCE_DATE_EPOCH '253402300800': expected an integer from 0 to "
                       "253402300799 (9999-12-31T23:59:59Z), in seconds since 1970-01-01 UTC\n") != std::string::npos);
  CHECK(built.err.find("missing.txt") == std::string::npos);
}

TEST_CASE("cli: build flags fill every option", "[cli]") {
  BuildOptions parsed = imgbuild::cli::parse_build_options(
      {"--target", "runtime", "--build-arg", "A=1", "--build-arg", "B=x=y", "--secret", "id=pip,src=pip.conf",
       "--secret", "id=tok,env=TOKEN", "-t", "localhost/app:1", "--tag", "2", "--output", "oci:out/app:1",
       "--output", "docker-archive:out/app.tar", "--platform", "linux/arm64", "--format", "docker",
       "--compression", "zstd", "--no-cache", "--pull", "--locked", "--explain", "--load", "--progress", "json",
       "--store", "/var/store", "--report", "r.json", "--metadata-file", "m.json", "--baseline", "old.json",
       "--vulns", "v.json", "--runtime", "crun", "--network", "none", "--jobs", "4", "-v", "recipe.toml"});
  CHECK(parsed.recipe == "recipe.toml");
  CHECK(parsed.target == "runtime");
  CHECK(parsed.build_args == std::map<std::string, std::string>{{"A", "1"}, {"B", "x=y"}});
  REQUIRE(parsed.secrets.size() == 2);
  CHECK(parsed.secrets[0].id == "pip");
  CHECK(parsed.secrets[0].file == "pip.conf");
  CHECK(parsed.secrets[0].env.empty());
  CHECK(parsed.secrets[1].id == "tok");
  CHECK(parsed.secrets[1].env == "TOKEN");
  CHECK(parsed.tags == std::vector<std::string>{"localhost/app:1", "2"});
  CHECK(parsed.outputs == std::vector<std::string>{"oci:out/app:1", "docker-archive:out/app.tar"});
  CHECK(parsed.platform == "linux/arm64");
  CHECK(parsed.format == "docker");
  CHECK(parsed.compression == "zstd");
  CHECK(parsed.no_cache);
  CHECK(parsed.pull);
  CHECK(parsed.locked);
  CHECK(parsed.explain);
  CHECK(parsed.load);
  CHECK(parsed.progress == imgbuild::build::Progress::json);
  CHECK(parsed.store == "/var/store");
  CHECK(parsed.report == "r.json");
  CHECK(parsed.metadata_file == "m.json");
  CHECK(parsed.baseline == "old.json");
  CHECK(parsed.vulns == "v.json");
  CHECK(parsed.runtime == "crun");
  CHECK(parsed.network == "none");
  CHECK(parsed.jobs == 4);
  CHECK(parsed.verbose);
}

TEST_CASE("cli: build defaults leave options unset", "[cli]") {
  BuildOptions parsed = imgbuild::cli::parse_build_options({"r.toml"});
  CHECK(parsed.recipe == "r.toml");
  CHECK_FALSE(parsed.target);
  CHECK(parsed.build_args.empty());
  CHECK(parsed.tags.empty());
  CHECK_FALSE(parsed.platform);
  CHECK_FALSE(parsed.format);
  CHECK_FALSE(parsed.no_cache);
  CHECK(parsed.progress == imgbuild::build::Progress::automatic);
  CHECK_FALSE(parsed.store);
  CHECK(parsed.jobs == 0);
  CHECK_FALSE(parsed.verbose);
}

TEST_CASE("cli: invalid build flag values", "[cli]") {
  auto error_of = [](std::vector<std::string> args) -> std::string {
    try {
      imgbuild::cli::parse_build_options(args);
    } catch (const imgbuild::Error& error) {
      CHECK(error.code() == imgbuild::ExitCode::usage);
      return error.what();
    }
    return "no error";
  };
  CHECK(error_of({"--secret", "id=a", "r.toml"}) == "invalid --secret 'id=a': give exactly one of src=FILE or env=VAR");
  CHECK(error_of({"--secret", "src=f", "r.toml"}) == "invalid --secret 'src=f': missing id=NAME");
  CHECK(error_of({"--secret", "id=a,type=file", "r.toml"}) ==
        "invalid --secret 'id=a,type=file': unknown field 'type'; use id=NAME,src=FILE or id=NAME,env=VAR");
  CHECK(error_of({"--build-arg", "=1", "r.toml"}) == "invalid --build-arg '=1': write NAME=VALUE");
  CHECK(error_of({"--output", "tar:x", "r.toml"}) ==
        "invalid output 'tar:x': expected oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE or docker://REF");
  CHECK(error_of({"--platform", "amd64", "r.toml"}) ==
        "invalid platform 'amd64': expected OS/ARCH or OS/ARCH/VARIANT in lower case, such as linux/amd64 or linux/arm64/v8");
  CHECK(error_of({"-t", "-x", "r.toml"}) ==
        "--tag: invalid tag '-x': a tag is up to 128 letters, digits, '_', '.' and '-', and does not start with "
        "'.' or '-'");
  CHECK(error_of({"--tag", "1.0", "--tag", ":x", "r.toml"}) ==
        "--tag: invalid image reference ':x': the name before the tag or digest is empty; write a tag such as '1.0' "
        "or a reference such as 'localhost/app:1.0'");
  for (std::string jobs : {"-1", "1025", "two"}) {
    CHECK(error_of({"--jobs", jobs, "r.toml"}) ==
          "--jobs: invalid value '" + jobs + "': expected an integer from 0 to 1024");
  }
  CHECK(error_of({"--jobs", "1024", "r.toml"}) == "no error");
  CHECK(error_of({"--progress", "fancy", "r.toml"}) != "no error");
}
