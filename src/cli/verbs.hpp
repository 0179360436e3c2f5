// SPDX-License-Identifier: Apache-2.0
// The verbs of the command line. Each verb lives in its own file and has one
// function that adds its subcommand, with its options, to the application
// and returns what runs when the user chooses it. To add a verb, write
// src/cli/<verb>_verb.cpp with an add_<verb>_verb function and list it in
// add_verbs (verbs.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace imgbuild::cli {

struct Verb {
  CLI::App* command = nullptr;
  // Runs the verb after parsing; returns the exit code or throws Error.
  std::function<int()> run;
  // Mounts, runs steps or owns files of other users: without root it runs
  // in a user namespace (exec::rerun_in_user_namespace).
  bool needs_root = false;
};

Verb add_build_verb(CLI::App& app);
Verb add_check_verb(CLI::App& app);
Verb add_prune_verb(CLI::App& app);
Verb add_diff_verb(CLI::App& app);

// Returns a validator for an option that takes an integer from `min` to
// `max`. It rejects other values with "invalid value 'TEXT': expected an
// integer from MIN to MAX", which CLI11 prefixes with the option name.
CLI::Validator integer_range(std::int64_t min, std::int64_t max);

// Adds every verb to `app`; the first is the default verb, run when the
// command line starts with something other than a verb name.
std::vector<Verb> add_verbs(CLI::App& app);

}  // namespace imgbuild::cli
