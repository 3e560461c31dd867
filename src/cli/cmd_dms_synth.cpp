// longkv dms-synth: turns a Hugging Face folder (e.g. `longkv synth` output) into a DMS
// checkpoint whose eviction decisions are known in advance (compress/dms_model.h): kv head h
// evicts the key before token t exactly when (t is even) == (h is even). For end-to-end tests
// of DMS from checkpoints; the config.json carries the official dms_* keys.
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "compress/dms_model.h"

namespace lk::cli {
namespace {

int run_dms_synth(int argc, char** argv) {
  CLI::App app{"Write a DMS checkpoint with rule-based decisions from a Hugging Face folder"};
  std::string src, out, form = "neuron";
  compress::DmsSynthOptions o;
  app.add_option("--from", src, "a Hugging Face folder (config.json + safetensors)")->required();
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--form", form,
                 "decision form: neuron (repurposed query channel) or proj (separate projection)")
      ->capture_default_str();
  app.add_option("--window", o.window, "dms_window_size (delayed-eviction window)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (form != "neuron" && form != "proj")
    return report_error("dms-synth",
                        invalid_argument("--form '{}' is not valid (valid: neuron, proj)", form));
  if (o.window < 0)
    return report_error("dms-synth", invalid_argument("--window must be >= 0 (got {})", o.window));
  o.separate_alpha = form == "proj";
  if (auto st = compress::dms_synth_checkpoint(src, out, o); !st.is_ok())
    return report_error("dms-synth", st);
  fmt::print("wrote DMS checkpoint {} ({} form, window {})\n", out, form, o.window);
  return 0;
}

}  // namespace
LK_REGISTER_COMMAND("dms-synth",
                    "write a DMS checkpoint with known decisions from a HF folder (tests)",
                    run_dms_synth);
}  // namespace lk::cli
