#include "analysis/model_source.h"

#include "model/gguf_reader.h"
#include "model/gguf_spec.h"
#include "model/hf_config.h"

namespace lk {

Result<ModelSpec> model_load_config(const std::string& path) {
  auto m = model_spec_from_hf_config_file(path);
  if (!m) return m.status().with_context("--config");
  return m;
}

Result<ModelSpec> model_load_gguf(const std::string& path) {
  GgufOpenOptions opt;
  opt.header_only = true;  // the analyzer needs the architecture, not the weights
  auto file = GgufFile::open(path, opt);
  if (!file) return file.status().with_context("--gguf");
  auto m = model_spec_from_gguf(**file);
  if (!m) return m.status().with_context("--gguf");
  return m;
}

}  // namespace lk
