// SPDX-License-Identifier: Apache-2.0
// Exact diagnostics for each kind of recipe error.
#include <catch2/catch.hpp>

#include "imgbuild/recipe/load.hpp"

namespace recipe = imgbuild::recipe;

namespace {

// Returns the formatted diagnostics of `text` read as recipes/bad.toml, or
// "no error" when it validates.
std::string errors_of(std::string_view text) {
  try {
    recipe::parse_recipe(text, "recipes/bad.toml");
  } catch (const recipe::RecipeError& error) {
    return error.formatted();
  }
  return "no error";
}

// A valid head for recipes whose stages are under test.
const std::string head = "[image]\nname = \"localhost/app\"\n";

}  // namespace

TEST_CASE("recipe: misspelled key suggests env", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "runtime"
base = "scratch"

[[stage.step]]
workdir = "/app"

[[stage.step]]
enviroment = { A = "1" }
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:12:1: unknown key 'enviroment' in step 2 of stage 'runtime'; did you mean 'env'?\n"
        "    enviroment = { A = \"1\" }\n"
        "    ^\n");
}

TEST_CASE("recipe: error summary and exit code", "[recipe]") {
  try {
    recipe::parse_recipe(head + "[[stage]]\nname = \"a\"\nbase = \"scratch\"\ncolour = 1\nsize = 2\n", "r.toml");
    FAIL("no error");
  } catch (const recipe::RecipeError& error) {
    CHECK(std::string(error.what()) == "2 errors in r.toml");
    CHECK(error.code() == imgbuild::ExitCode::usage);
    REQUIRE(error.diagnostics().size() == 2);
    CHECK(error.diagnostics()[0].position.line == 6);
    CHECK(error.diagnostics()[1].position.line == 7);
  }
}

TEST_CASE("recipe: unknown stage in copy from", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "builder"
base = "scratch"

[[stage]]
name = "runtime"
base = "scratch"

[[stage.step]]
copy = "/opt/venv"
from = "buidler"
to = "/opt/venv"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:14:8: unknown stage 'buidler' in 'from' of step 1 of stage 'runtime'; did you mean 'builder'?\n"
        "    from = \"buidler\"\n"
        "           ^\n");
}

TEST_CASE("recipe: unknown stage in base", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "builder"
base = "scratch"

[[stage]]
name = "runtime"
base = "buildr"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:10:8: unknown stage 'buildr' in 'base' of stage 'runtime'; did you mean 'builder'? "
        "(write \"docker://buildr\" for an image of that name)\n"
        "    base = \"buildr\"\n"
        "           ^\n");
}

TEST_CASE("recipe: cycle between two stages", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "a"
base = "b"

[[stage]]
name = "b"
base = "scratch"

[[stage.step]]
copy = "/x"
from = "a"
to = "/x"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:6:8: stages form a cycle: stage 'a' -> 'b' -> 'a'\n"
        "    base = \"b\"\n"
        "           ^\n");
}

TEST_CASE("recipe: stage copying from itself", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "a"
base = "scratch"
[[stage.step]]
copy = "/x"
from = "a"
to = "/x"
)";
  CHECK(errors_of(text) == "recipes/bad.toml:9:8: stages form a cycle: stage 'a' -> 'a'\n"
                           "    from = \"a\"\n"
                           "           ^\n");
}

TEST_CASE("recipe: duplicate stage names", "[recipe]") {
  std::string text = head + R"(
[[stage]]
name = "a"
base = "scratch"
[[stage]]
name = "a"
base = "scratch"
)";
  CHECK(errors_of(text) == "recipes/bad.toml:8:8: duplicate stage name 'a'; the first stage 'a' is at line 5\n"
                           "    name = \"a\"\n"
                           "           ^\n");
}

TEST_CASE("recipe: TOML syntax error", "[recipe]") {
  std::string text = head + "[[stage]]\nname = \"a\nbase = \"scratch\"\n";
  std::string errors = errors_of(text);
  CHECK(errors.starts_with("recipes/bad.toml:4:"));
  CHECK(errors.find(": invalid TOML: ") != std::string::npos);
  CHECK(errors.find("    name = \"a\n") != std::string::npos);
}

TEST_CASE("recipe: wrong types", "[recipe]") {
  std::string text = R"([image]
name = "app"
tags = "latest"
[build]
jobs = "2"
no_new_privileges = "yes"
[[stage]]
name = "a"
base = 5
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:3:8: 'tags' in [image] must be an array of strings, not a string\n"
        "    tags = \"latest\"\n"
        "           ^\n"
        "recipes/bad.toml:5:8: 'jobs' in [build] must be an integer, not a string\n"
        "    jobs = \"2\"\n"
        "           ^\n"
        "recipes/bad.toml:6:21: 'no_new_privileges' in [build] must be a boolean (true or false), not a string\n"
        "    no_new_privileges = \"yes\"\n"
        "                        ^\n"
        "recipes/bad.toml:9:8: 'base' in stage 'a' must be a string or a table with 'debian', not an integer\n"
        "    base = 5\n"
        "           ^\n");
}

TEST_CASE("recipe: run and size type messages", "[recipe]") {
  std::string text = head + R"([[stage]]
name = "s"
base = "scratch"
[[stage.step]]
run = 5
[[stage.step]]
run = ["echo", 1]
[stage.policy]
max_uncompressed_size = -5
max_compressed_size = true
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:7:7: 'run' in step 1 of stage 's' must be a string or an array of strings, not an integer\n"
        "    run = 5\n"
        "          ^\n"
        "recipes/bad.toml:9:16: 'run' in step 2 of stage 's' must be a string or an array of strings, but it holds an integer\n"
        "    run = [\"echo\", 1]\n"
        "                   ^\n"
        "recipes/bad.toml:11:25: 'max_uncompressed_size' in the policy of stage 's' is -5: a size must not be negative; "
        "give a number of bytes or a size such as \"150MB\"\n"
        "    max_uncompressed_size = -5\n"
        "                            ^\n"
        "recipes/bad.toml:12:23: 'max_compressed_size' in the policy of stage 's' must be a size such as \"150MB\" or a "
        "number of bytes, not a boolean\n"
        "    max_compressed_size = true\n"
        "                          ^\n");
}

TEST_CASE("recipe: source line bytes are escaped", "[recipe]") {
  // A control character in a string is a TOML error, so the line is shown.
  CHECK(errors_of("[image]\nname = \"a\x01\x1b[31m\\tb\"\n") ==
        "recipes/bad.toml:2:10: invalid TOML: Error while parsing string: unescaped control characters other than "
        "TAB (U+0009) are explicitly prohibited\n"
        "    name = \"a\\x01\\x1b[31m\\\\tb\"\n"
        "             ^\n");
  // A tab stays a tab in the line and in the caret's indentation, so the two
  // line up in any terminal, and valid UTF-8 is kept.
  CHECK(errors_of("[image]\nname\t= \"\xc3\xa4\x7f\"\n") ==
        "recipes/bad.toml:2:10: invalid TOML: Error while parsing string: unescaped control characters other than "
        "TAB (U+0009) are explicitly prohibited\n"
        "    name\t= \"\xc3\xa4\\x7f\"\n"
        "        \t    ^\n");
  // A C1 control character (U+009B, CSI) is valid TOML but escaped when shown,
  // and the caret still points at the offending character after it.
  CHECK(errors_of("[image]\nname = \"\xc2\x9b\" x\n") ==
        "recipes/bad.toml:2:12: invalid TOML: Error while parsing key-value pair: expected a comment or whitespace, "
        "saw 'x'\n"
        "    name = \"\\xc2\\x9b\" x\n"
        "                      ^\n");
  // The ELF header of a binary given as the recipe.
  std::string binary("\x7f" "ELF\x02\x01\x01\0\0\0\n", 11);
  std::string diagnostics = errors_of(binary);
  CHECK(diagnostics.find("\n    \\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\n    ^\n") != std::string::npos);
  for (char c : diagnostics) {
    INFO("output " << diagnostics);
    CHECK(((c >= 0x20 && c < 0x7f) || c == '\n'));
  }
}

TEST_CASE("recipe: missing required keys", "[recipe]") {
  std::string text = R"([image]
tags = ["1"]
[[stage]]
name = "a"
[[stage]]
base = "scratch"
[[stage.step]]
copy = "x"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:1:1: missing required key 'name' in [image]; set it to a reference without tag, such as \"localhost/app\"\n"
        "    [image]\n"
        "    ^\n"
        "recipes/bad.toml:3:1: missing required key 'base' in stage 'a'; use \"scratch\" for an empty root filesystem\n"
        "    [[stage]]\n"
        "    ^\n"
        "recipes/bad.toml:5:1: missing required key 'name' in stage 2\n"
        "    [[stage]]\n"
        "    ^\n"
        "recipes/bad.toml:7:1: missing required key 'to' in step 1 of stage 2; give the destination path, ending in '/' for a directory\n"
        "    [[stage.step]]\n"
        "    ^\n");
}

TEST_CASE("recipe: missing image and stages", "[recipe]") {
  CHECK(errors_of("[build]\njobs = 1\n") ==
        "recipes/bad.toml:1:1: missing required table [image] with the image 'name'\n"
        "    [build]\n"
        "    ^\n"
        "recipes/bad.toml:1:1: the recipe has no stage; add a [[stage]] table with a name and a base\n"
        "    [build]\n"
        "    ^\n");
}

TEST_CASE("recipe: step kinds", "[recipe]") {
  std::string text = head + R"([[stage]]
name = "s"
base = "scratch"
[[stage.step]]
network = "none"
[[stage.step]]
copy = "a"
workdir = "/w"
to = "/"
[[stage.step]]
run = "true"
to = "/x"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:6:1: step 1 of stage 's' has no kind; set exactly one of run, copy, env, workdir or user\n"
        "    [[stage.step]]\n"
        "    ^\n"
        "recipes/bad.toml:10:1: step 2 of stage 's' sets both 'copy' and 'workdir'; set exactly one of run, copy, env, workdir or user\n"
        "    workdir = \"/w\"\n"
        "    ^\n"
        "recipes/bad.toml:14:1: key 'to' is not valid in a run step (step 3 of stage 's')\n"
        "    to = \"/x\"\n"
        "    ^\n");
}

TEST_CASE("recipe: invalid values", "[recipe]") {
  std::string text = head + R"([[stage]]
name = "s"
base = "scratch"
[[stage.step]]
copy = "a"
to = "/a"
owner = "app:"
mode = "0999"
[[stage.step]]
copy = "a"
to = "/a"
mode = 644
[stage.config]
ports = ["80/tcpx", 70000]
stop_signal = "SIGINTT"
healthcheck = { test = ["CMD", "true"], interval = "30x" }
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:9:9: 'owner' in step 1 of stage 's': invalid owner 'app:': the group is empty; write \"uid:gid\", \"name\" or \"name:group\"\n"
        "    owner = \"app:\"\n"
        "            ^\n"
        "recipes/bad.toml:10:8: 'mode' in step 1 of stage 's': invalid mode '0999': expected octal digits 0-7, such as \"0644\"\n"
        "    mode = \"0999\"\n"
        "           ^\n"
        "recipes/bad.toml:14:8: 'mode' in step 2 of stage 's' must be an octal string such as \"0644\" (or 0o644), not an integer\n"
        "    mode = 644\n"
        "           ^\n"
        "recipes/bad.toml:16:10: 'ports' in the config of stage 's': invalid port '80/tcpx': unknown protocol 'tcpx'; use tcp, udp or sctp\n"
        "    ports = [\"80/tcpx\", 70000]\n"
        "             ^\n"
        "recipes/bad.toml:16:21: 'ports' in the config of stage 's': invalid port '70000': ports are 1 to 65535\n"
        "    ports = [\"80/tcpx\", 70000]\n"
        "                        ^\n"
        "recipes/bad.toml:17:15: 'stop_signal' in the config of stage 's': invalid stop signal 'SIGINTT': expected a name such as SIGTERM or a number 1-64; did you mean 'SIGINT'?\n"
        "    stop_signal = \"SIGINTT\"\n"
        "                  ^\n"
        "recipes/bad.toml:18:52: 'interval' in the healthcheck of stage 's': invalid duration '30x': unknown unit 'x'; use ns, us, ms, s, m or h\n"
        "    healthcheck = { test = [\"CMD\", \"true\"], interval = \"30x\" }\n"
        "                                                       ^\n");
}

TEST_CASE("recipe: source_date_epoch range", "[recipe]") {
  std::string stage = "[[stage]]\nname = \"s\"\nbase = \"scratch\"\n";
  for (const char* value : {"9223372036854775807", "253402300800", "-1"}) {
    INFO("source_date_epoch = " << value);
    std::string text = head + "[build]\nsource_date_epoch = " + value + "\n" + stage;
    CHECK(errors_of(text) == std::string("recipes/bad.toml:4:21: 'source_date_epoch' in [build] is ") + value +
                                 ", out of range: use an integer from 0 to 253402300799 (9999-12-31T23:59:59Z), "
                                 "in seconds since 1970-01-01 UTC\n"
                                 "    source_date_epoch = " + value + "\n"
                                 "                        ^\n");
  }
  for (const char* value : {"0", "253402300799"}) {
    INFO("source_date_epoch = " << value);
    CHECK(errors_of(head + "[build]\nsource_date_epoch = " + value + "\n" + stage) == "no error");
  }
}

TEST_CASE("recipe: invalid image references", "[recipe]") {
  std::string text = R"([image]
name = "localhost/App:1.0"
tags = ["-bad"]
[[stage]]
name = "s"
base = "docker://debian:book worm"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:2:8: 'name' in [image]: invalid image reference 'localhost/App:1.0': the name component 'App' must be lower-case letters and digits, separated by '.', '_', '__' or '-'\n"
        "    name = \"localhost/App:1.0\"\n"
        "           ^\n"
        "recipes/bad.toml:3:9: 'tags' in [image]: invalid tag '-bad': a tag is up to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'\n"
        "    tags = [\"-bad\"]\n"
        "            ^\n"
        "recipes/bad.toml:6:8: 'base' in stage 's': invalid image reference 'debian:book worm': invalid tag 'book worm': a tag is up to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'\n"
        "    base = \"docker://debian:book worm\"\n"
        "           ^\n");
}

TEST_CASE("recipe: invalid paths", "[recipe]") {
  std::string text = head + R"([[stage]]
name = "s"
base = "scratch"
[[stage.step]]
copy = ["ok/../fine", "../secret", "a/../../b"]
to = "/a/"
[[stage.step]]
run = "true"
cache = ["var/cache"]
[stage.config]
volumes = ["data"]
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:7:23: copy source '../secret' in step 1 of stage 's' leaves the build context; sources are paths inside the context directory\n"
        "    copy = [\"ok/../fine\", \"../secret\", \"a/../../b\"]\n"
        "                          ^\n"
        "recipes/bad.toml:7:36: copy source 'a/../../b' in step 1 of stage 's' leaves the build context; sources are paths inside the context directory\n"
        "    copy = [\"ok/../fine\", \"../secret\", \"a/../../b\"]\n"
        "                                       ^\n"
        "recipes/bad.toml:11:10: invalid cache target 'var/cache' in step 2 of stage 's': it must be an absolute path, such as /var/cache/apt\n"
        "    cache = [\"var/cache\"]\n"
        "             ^\n"
        "recipes/bad.toml:13:12: 'volumes' in the config of stage 's': 'data' must be an absolute path\n"
        "    volumes = [\"data\"]\n"
        "               ^\n");
}

TEST_CASE("recipe: unknown args and secrets", "[recipe]") {
  std::string text = head + R"([args]
APP_VERSION = "1"
[secrets]
pip_conf = { file = "pip.conf" }
[[stage]]
name = "s"
base = "scratch"
args = ["APP_VERSON"]
[[stage.step]]
run = "true"
secrets = ["pip_cnf"]
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:10:9: unknown build arg 'APP_VERSON' in stage 's'; did you mean 'APP_VERSION'?\n"
        "    args = [\"APP_VERSON\"]\n"
        "            ^\n"
        "recipes/bad.toml:13:12: unknown secret 'pip_cnf' in step 1 of stage 's'; did you mean 'pip_conf'?\n"
        "    secrets = [\"pip_cnf\"]\n"
        "               ^\n");
}

TEST_CASE("recipe: unknown top-level and nested keys", "[recipe]") {
  std::string text = head + R"([bulid]
jobs = 1
[policy]
forbid_packages = { debs = ["gcc"] }
[[stage]]
name = "s"
base = "scratch"
[stage.config]
healthcheck = { test = "true", retrys = 3 }
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:3:2: unknown key 'bulid' in the recipe; did you mean 'build'?\n"
        "    [bulid]\n"
        "     ^\n"
        "recipes/bad.toml:6:21: unknown key 'debs' in 'forbid_packages' of [policy]; did you mean 'deb'?\n"
        "    forbid_packages = { debs = [\"gcc\"] }\n"
        "                        ^\n"
        "recipes/bad.toml:11:32: unknown key 'retrys' in the healthcheck of stage 's'; did you mean 'retries'?\n"
        "    healthcheck = { test = \"true\", retrys = 3 }\n"
        "                                   ^\n");
}

TEST_CASE("recipe: unknown target", "[recipe]") {
  std::string text = R"([image]
name = "app"
target = "runtme"
[[stage]]
name = "runtime"
base = "scratch"
)";
  CHECK(errors_of(text) ==
        "recipes/bad.toml:3:10: unknown stage 'runtme' in 'target' of [image]; did you mean 'runtime'?\n"
        "    target = \"runtme\"\n"
        "             ^\n");
}

TEST_CASE("recipe: caret under a tab-indented key", "[recipe]") {
  std::string text = head + "[[stage]]\nname = \"s\"\nbase = \"scratch\"\n\tcolour = 1\n";
  CHECK(errors_of(text) == "recipes/bad.toml:6:2: unknown key 'colour' in stage 's'\n"
                           "    \tcolour = 1\n"
                           "    \t^\n");
}
