// SPDX-License-Identifier: Apache-2.0
#include "build/finish.hpp"
#include "build/stage.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::build {
namespace {

void note(StageResult& state, const std::string& text) { image::append_empty_history(state.image, {text, "", ""}); }

std::string json_list(const std::vector<std::string>& values) { return nlohmann::json(values).dump(); }

}  // namespace

void apply_stage_config(Session& session, const recipe::Stage& stage, StageResult& state) {
  const recipe::StageConfig& config = stage.config;
  auto lookup = make_lookup(state.env, visible_arg_values(session, stage, stage.steps.size()));
  auto& document = state.image.config;

  if (!config.env.empty()) {
    recipe::apply_env_step(state.env, config.env, lookup);
    std::string text = "ENV";
    for (const auto& var : config.env) {
      image::set_env(document, var.name, *recipe::find_env(state.env, var.name));
      text += cat(" ", var.name, "=", var.value);
    }
    note(state, text);
  }
  if (config.workdir) {
    state.workdir = recipe::expand(*config.workdir, lookup);
    image::set_working_dir(document, state.workdir);
    note(state, "WORKDIR " + state.workdir);
  }
  if (config.user) {
    state.user = recipe::expand(*config.user, lookup);
    image::set_user(document, state.user);
    note(state, "USER " + state.user);
  }
  if (config.entrypoint) {
    image::set_entrypoint(document, *config.entrypoint);
    note(state, "ENTRYPOINT " + json_list(*config.entrypoint));
  }
  if (config.cmd) {
    image::set_cmd(document, *config.cmd);
    note(state, "CMD " + json_list(*config.cmd));
  }
  for (const auto& port : config.ports) {
    image::add_exposed_port(document, recipe::expand(port, lookup));
    note(state, "EXPOSE " + port);
  }
  for (const auto& volume : config.volumes) {
    image::add_volume(document, recipe::expand(volume, lookup));
    note(state, "VOLUME " + volume);
  }
  for (const auto& [key, value] : config.labels) {
    image::set_label(document, key, recipe::expand(value, lookup));
    note(state, cat("LABEL ", key, "=", value));
  }
  for (const auto& [key, value] : config.annotations) state.image.annotations[key] = recipe::expand(value, lookup);
  if (config.stop_signal) {
    image::set_stop_signal(document, *config.stop_signal);
    note(state, "STOPSIGNAL " + *config.stop_signal);
  }
  if (config.healthcheck) {
    const recipe::Healthcheck& in = *config.healthcheck;
    image::Healthcheck out;
    out.test = in.test;
    out.interval_ns = in.interval.value_or(0);
    out.timeout_ns = in.timeout.value_or(0);
    out.start_period_ns = in.start_period.value_or(0);
    out.retries = in.retries.value_or(0);
    image::set_healthcheck(document, out);
    note(state, "HEALTHCHECK " + json_list(in.test));
  }
}

}  // namespace imgbuild::build
