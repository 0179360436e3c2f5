// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/cli/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <iostream>

#include "imgbuild/exec/user_namespace.hpp"
#include "imgbuild/recipe/diagnostics.hpp"
#include "imgbuild/util/cleanup.hpp"
#include "imgbuild/util/log.hpp"
#include "verbs.hpp"

#ifndef IMGBUILD_VERSION
#define IMGBUILD_VERSION "unknown"
#endif

namespace imgbuild::cli {
namespace {

// Returns the arguments after the program name, with the default verb
// inserted when the first one is not a verb or a top-level flag, so that
// `imgbuild RECIPE` means `imgbuild build RECIPE`.
std::vector<std::string> with_default_verb(int argc, char** argv, const std::vector<Verb>& verbs) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return args;
  const std::string& first = args.front();
  if (first == "-h" || first == "--help" || first == "--version") return args;
  for (const Verb& verb : verbs)
    if (verb.command->get_name() == first) return args;
  args.insert(args.begin(), verbs.front().command->get_name());
  return args;
}

int print_error(const std::string& message) {
  std::fprintf(stderr, "imgbuild: error: %s\n", message.c_str());
  return static_cast<int>(ExitCode::usage);
}

int report_error(const Error& error) {
  // With --progress json the failure is one more event, so CI parsers see
  // it in the same stream as the steps.
  if (log::format() == log::Format::json)
    log::event({{"event", "error"}, {"message", error.what()}, {"exit_code", static_cast<int>(error.code())}}, {});
  else
    std::fprintf(stderr, "imgbuild: error: %s\n", error.what());
  return static_cast<int>(error.code());
}

int run_verb(const Verb& verb) {
  try {
    return verb.run();
  } catch (const recipe::RecipeError& error) {
    std::fputs(error.formatted().c_str(), stderr);
    std::fprintf(stderr, "imgbuild: error: %s\n", error.what());
    return static_cast<int>(error.code());
  } catch (const Error& error) {
    return report_error(error);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "imgbuild: error: unexpected failure: %s\n", error.what());
    return static_cast<int>(ExitCode::build_failure);
  }
}

const Verb* chosen_verb(const std::vector<Verb>& verbs) {
  for (const Verb& verb : verbs)
    if (verb.command->parsed()) return &verb;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("imgbuild: builds container images from a TOML recipe", "imgbuild");
  app.set_version_flag("--version", "imgbuild " IMGBUILD_VERSION);
  app.require_subcommand(0, 1);
  app.footer("Exit codes: 0 success, 1 build failure, 2 usage or recipe error, 3 policy violation, 130 interrupted by SIGINT, 143 by SIGTERM.");
  std::vector<Verb> verbs = add_verbs(app);

  std::vector<std::string> args = with_default_verb(argc, argv, verbs);
  std::reverse(args.begin(), args.end());  // CLI11 reads a vector from the back
  try {
    app.parse(args);
  } catch (const CLI::Success& done) {
    return app.exit(done);
  } catch (const CLI::ParseError& error) {
    return print_error(std::string(error.what()) + "; run 'imgbuild --help' for usage");
  }

  const Verb* verb = chosen_verb(verbs);
  if (!verb) return print_error("missing verb or recipe; run 'imgbuild --help' for usage");
  // Before the signal thread starts: entering a namespace forks.
  if (verb->needs_root) {
    try {
      if (auto code = exec::rerun_in_user_namespace(argv)) return *code;
    } catch (const Error& error) {
      return report_error(error);
    }
  }
  cleanup::install_signal_handler();
  int code = run_verb(*verb);
  // A signal that came after the last step checked for it must still end
  // the build as interrupted, not as a success.
  if (cleanup::interrupted()) {
    cleanup::run_all();
    cleanup::announce_interrupt();
    return cleanup::interrupt_exit_code();
  }
  return code;
}

}  // namespace imgbuild::cli
