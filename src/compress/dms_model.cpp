#include "compress/dms_model.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "kernels/row_convert.h"
#include "model/checkpoint.h"
#include "model/safetensors_writer.h"

namespace lk::compress {

namespace fs = std::filesystem;

namespace {

std::string layer_tensor(int layer, const char* suffix) {
  return fmt::format("model.layers.{}.self_attn.{}", layer, suffix);
}

// All rows of a 1-D or 2-D tensor as f32 ([rows][row_len]).
Result<std::vector<float>> tensor_f32(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const int64_t rows = t.n_elements() / t.ne[0];
  for (int64_t r = 0; r < rows; ++r) LK_RETURN_IF_ERROR(row_to_f32(t, r, &out[r * t.ne[0]]));
  return out;
}

Result<std::vector<float>> load_vector(const Checkpoint& ck, const std::string& name,
                                       std::vector<int64_t> shape) {
  const TensorView* t = ck.find(name);
  if (!t)
    return invalid_argument("{}: config.json sets dms_separate_alpha but tensor '{}' is missing",
                            ck.path(), name);
  const int64_t rows = shape.size() == 2 ? shape[0] : 1;
  if (t->ne[0] != shape.back() || t->n_elements() != rows * shape.back())
    return invalid_argument("{}: tensor '{}' has {} elements, expected shape [{}]", ck.path(), name,
                            t->n_elements(),
                            shape.size() == 2 ? fmt::format("{}, {}", shape[0], shape[1])
                                              : fmt::format("{}", shape[0]));
  return tensor_f32(*t);
}

}  // namespace

void DmsModel::logits(int layer, const float* x, float* q, int64_t q_stride, int64_t n,
                      float* out) const {
  if (!cfg.separate_alpha) {
    const int group = n_heads / n_kv_heads;
    for (int64_t t = 0; t < n; ++t)
      for (int h = 0; h < n_kv_heads; ++h) {
        float& ch = q[t * q_stride + (int64_t{h} * group) * head_dim + head_dim - 1];
        out[t * n_kv_heads + h] =
            static_cast<float>(ch * cfg.alpha_scale - cfg.initial_alpha_offset);
        ch = 0.0f;
      }
    return;
  }
  const DmsLayerProjection& p = layers[layer];
  dms_projection_logits(x, n, d_model, p.norm.data(), rms_eps, p.proj.data(),
                        p.bias.empty() ? nullptr : p.bias.data(), n_kv_heads, cfg, out);
}

void DmsModel::zero_channel(float* q, int64_t q_stride, int64_t n) const {
  if (!neuron()) return;
  const int group = n_heads / n_kv_heads;
  for (int64_t t = 0; t < n; ++t)
    for (int h = 0; h < n_kv_heads; ++h)
      q[t * q_stride + (int64_t{h} * group) * head_dim + head_dim - 1] = 0.0f;
}

Result<DmsModel> dms_model_load(const ModelSpec& s, const std::string& source) {
  DmsModel m;
  m.n_heads = s.n_heads;
  m.n_kv_heads = s.n_kv_heads;
  m.head_dim = s.head_dim;
  m.d_model = s.d_model;
  m.rms_eps = s.rms_eps;
  fs::path cfg_path = source;
  std::error_code ec;
  if (!fs::is_directory(cfg_path, ec)) {
    const std::string ext = cfg_path.extension().string();
    if (ext != ".safetensors" && ext != ".json") return m;  // GGUF / llama2.c: no DMS keys
    cfg_path = cfg_path.parent_path();
  }
  cfg_path /= "config.json";
  if (!fs::exists(cfg_path, ec)) return m;
  LK_ASSIGN_OR_RETURN(m.cfg, dms_config_from_file(cfg_path.string()));
  if (!m.cfg.present || !m.cfg.separate_alpha) return m;
  LK_ASSIGN_OR_RETURN(auto ck, Checkpoint::open(source));
  m.layers.resize(s.n_layers);
  for (int l = 0; l < s.n_layers; ++l) {
    DmsLayerProjection& p = m.layers[l];
    LK_ASSIGN_OR_RETURN(
        p.norm, load_vector(*ck, layer_tensor(l, "dms_proj_alpha_norm.weight"), {s.d_model}));
    LK_ASSIGN_OR_RETURN(p.proj, load_vector(*ck, layer_tensor(l, "dms_proj_alpha.weight"),
                                            {s.n_kv_heads, s.d_model}));
    const std::string bias = layer_tensor(l, "dms_proj_alpha.bias");
    if (ck->find(bias)) {
      LK_ASSIGN_OR_RETURN(p.bias, load_vector(*ck, bias, {s.n_kv_heads}));
    }
  }
  return m;
}

Status dms_synth_checkpoint(const std::string& src, const std::string& out_dir,
                            const DmsSynthOptions& o) {
  LK_ASSIGN_OR_RETURN(auto ck, Checkpoint::open(src));
  if (ck->format() != CheckpointFormat::kSafetensors)
    return invalid_argument(
        "dms-synth: '{}' is not a Hugging Face folder (config.json + "
        "safetensors); make one with `longkv synth --out DIR`",
        src);
  const ModelSpec& s = ck->spec();
  const int D = s.head_dim, group = s.n_heads / s.n_kv_heads, d = s.d_model;
  if (o.window < 0) return invalid_argument("dms-synth: --window must be >= 0");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return io_error("dms-synth: cannot create '{}': {}", out_dir, ec.message());

  SafetensorsWriter w;
  std::vector<std::vector<float>> data;  // kept alive until written
  auto sign = [](int h) { return h % 2 == 0 ? 1.0f : -1.0f; };
  for (const TensorView& t : ck->tensors()) {
    LK_ASSIGN_OR_RETURN(std::vector<float> v, tensor_f32(t));
    const int64_t cols = t.ne[0], rows = t.n_elements() / cols;
    const std::string& n = t.name;
    auto ends = [&](const std::string& x) {
      return n.size() >= x.size() && n.compare(n.size() - x.size(), x.size(), x) == 0;
    };
    if (n == "model.embed_tokens.weight") {
      for (int64_t r = 0; r < rows; ++r) v[r * cols] = r % 2 == 0 ? o.scale : -o.scale;
    } else if (ends("self_attn.o_proj.weight") || ends("mlp.down_proj.weight")) {
      std::fill_n(v.begin(), cols, 0.0f);  // residual dimension 0 never changes
    } else if (ends("input_layernorm.weight")) {
      v[0] = 1.0f;
    } else if (!o.separate_alpha && ends("self_attn.q_proj.weight")) {
      for (int h = 0; h < s.n_kv_heads; ++h) {
        float* row = &v[(int64_t{h} * group * D + D - 1) * cols];
        std::fill_n(row, cols, 0.0f);
        row[0] = sign(h);
      }
    } else if (!o.separate_alpha && ends("self_attn.q_proj.bias")) {
      for (int h = 0; h < s.n_kv_heads; ++h) v[int64_t{h} * group * D + D - 1] = 0.0f;
    }
    std::vector<int64_t> shape =
        t.n_dims == 2 ? std::vector<int64_t>{rows, cols} : std::vector<int64_t>{cols};
    LK_RETURN_IF_ERROR(w.add_tensor(n, DType::kF32, shape, v.data(), v.size() * 4));
    if (o.separate_alpha && ends("self_attn.o_proj.weight")) {
      const std::string prefix = n.substr(0, n.size() - std::string("o_proj.weight").size());
      std::vector<float> norm(d, 1.0f), proj(static_cast<size_t>(s.n_kv_heads) * d, 0.0f);
      for (int h = 0; h < s.n_kv_heads; ++h) proj[int64_t{h} * d] = sign(h);
      LK_RETURN_IF_ERROR(w.add_tensor(prefix + "dms_proj_alpha_norm.weight", DType::kF32, {d},
                                      norm.data(), norm.size() * 4));
      LK_RETURN_IF_ERROR(w.add_tensor(prefix + "dms_proj_alpha.weight", DType::kF32,
                                      {s.n_kv_heads, d}, proj.data(), proj.size() * 4));
    }
  }
  LK_RETURN_IF_ERROR(w.write_file((fs::path(out_dir) / "model.safetensors").string()));

  // config.json: the source's, as f32, with the dms_* keys of the official implementation.
  std::ifstream in(fs::path(ck->dir()) / "config.json");
  nlohmann::json cfg = nlohmann::json::parse(in, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object())
    return invalid_argument("dms-synth: '{}/config.json' is not a JSON object", ck->dir());
  cfg["torch_dtype"] = "float32";
  cfg["dms_alpha_scale"] = 100.0;
  cfg["dms_initial_alpha_offset"] = 5.0;
  cfg["dms_window_size"] = o.window;
  cfg["dms_separate_alpha"] = o.separate_alpha;
  cfg["dms_alpha_per"] = "head";
  cfg["dms_disable_eviction"] = false;
  cfg["dms_cr"] = 2;
  cfg["dms_paged_attention_block_size"] = 16;
  std::ofstream out(fs::path(out_dir) / "config.json");
  out << cfg.dump(2) << "\n";
  if (!out) return io_error("dms-synth: cannot write '{}/config.json'", out_dir);
  for (const auto& e : fs::directory_iterator(ck->dir(), ec)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("tokenizer", 0) == 0 || f == "special_tokens_map.json")
      fs::copy_file(e.path(), fs::path(out_dir) / f, fs::copy_options::overwrite_existing, ec);
  }
  return Status::ok();
}

}  // namespace lk::compress
