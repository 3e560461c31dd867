#include "engine/llama2c_loader.h"

#include <cstdio>
#include <cstring>

#include "model/mapped_file.h"

namespace lk {

namespace {

constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42" little-endian as written by export.py

struct Config {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

TensorView make_view(const std::string& name, const uint8_t* p, int64_t ne0, int64_t ne1) {
  TensorView t;
  t.name = name;
  t.dtype = DType::kF32;
  t.n_dims = ne1 > 1 ? 2 : 1;
  t.ne = {ne0, ne1, 1, 1};
  t.data = p;
  t.nbytes = ne0 * ne1 * 4;
  return t;
}

}  // namespace

bool llama2c_looks_like(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  int32_t h[8] = {};
  const size_t n = std::fread(h, 4, 8, f);
  std::fclose(f);
  if (n < 7) return false;
  if (static_cast<uint32_t>(h[0]) == kMagicV1) return true;
  return h[0] > 0 && h[1] > 0 && h[2] > 0 && h[3] > 0 && h[4] > 0 && h[4] <= h[3] && h[5] != 0 &&
         h[6] > 0 && h[0] % h[3] == 0 && h[0] < (1 << 16) && h[2] < 1024;
}

Result<Model> llama2c_load(const std::string& path) {
  LK_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::open(path));
  const uint8_t* base = file->data();
  const int64_t size = static_cast<int64_t>(file->size());
  if (size < 28) return corrupt("{}: too small for a llama2.c header ({} bytes)", path, size);

  Config c{};
  int64_t offset = 0;
  int version = 0;
  bool shared = true;
  uint32_t magic;
  std::memcpy(&magic, base, 4);
  if (magic == kMagicV1) {
    int32_t v;
    std::memcpy(&v, base + 4, 4);
    if (v != 1) {
      return unsupported("{}: llama2.c export version {} (supported: legacy v0 and v1 float32)",
                         path, v);
    }
    if (size < 256) return corrupt("{}: truncated v1 header", path);
    std::memcpy(&c, base + 8, sizeof(c));
    shared = base[8 + sizeof(c)] != 0;
    offset = 256;
    version = 1;
  } else {
    std::memcpy(&c, base, sizeof(c));
    shared = c.vocab_size > 0;
    c.vocab_size = c.vocab_size < 0 ? -c.vocab_size : c.vocab_size;
    offset = sizeof(c);
  }
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.vocab_size <= 0 || c.seq_len <= 0 || c.dim % c.n_heads != 0 ||
      c.n_heads % c.n_kv_heads != 0) {
    return corrupt(
        "{}: implausible llama2.c config dim={} hidden_dim={} n_layers={} n_heads={} "
        "n_kv_heads={} vocab_size={} seq_len={}",
        path, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len);
  }
  Model m;
  ModelSpec& s = m.spec;
  s.name = path.substr(path.find_last_of('/') + 1);
  s.arch = "llama";
  s.n_layers = c.n_layers;
  s.d_model = c.dim;
  s.n_heads = c.n_heads;
  s.n_kv_heads = c.n_kv_heads;
  s.head_dim = c.dim / c.n_heads;
  s.ffn_dim = c.hidden_dim;
  s.vocab_size = c.vocab_size;
  s.max_context = c.seq_len;
  s.tied_embeddings = shared;
  s.rms_eps = 1e-5f;  // run.c hard-codes it
  s.rope_theta = 10000.0f;

  const int64_t L = c.n_layers, d = c.dim, hd = s.head_dim, kv = int64_t{c.n_kv_heads} * hd,
                q = int64_t{c.n_heads} * hd, ff = c.hidden_dim, V = c.vocab_size;
  // Array sizes in floats, in file order.
  struct Arr {
    const char* role;  // "" = skipped (freq_cis tables)
    int64_t per_layer_ne0, per_layer_ne1;
    bool layered;
  };
  std::vector<Arr> order;
  if (version == 0) {
    order = {{"token_embd", d, V, false},
             {"attn_norm", d, 1, true},
             {"attn_q", d, q, true},
             {"attn_k", d, kv, true},
             {"attn_v", d, kv, true},
             {"attn_output", q, d, true},
             {"ffn_norm", d, 1, true},
             {"ffn_gate", d, ff, true},
             {"ffn_down", ff, d, true},
             {"ffn_up", d, ff, true},
             {"output_norm", d, 1, false},
             {"", c.seq_len * hd / 2, 1, false},
             {"", c.seq_len * hd / 2, 1, false}};
  } else {
    order = {{"attn_norm", d, 1, true},   {"ffn_norm", d, 1, true},    {"output_norm", d, 1, false},
             {"token_embd", d, V, false}, {"attn_q", d, q, true},      {"attn_k", d, kv, true},
             {"attn_v", d, kv, true},     {"attn_output", q, d, true}, {"ffn_gate", d, ff, true},
             {"ffn_down", ff, d, true},   {"ffn_up", d, ff, true}};
  }
  if (!shared) order.push_back({"output", d, V, false});

  TensorMap tensors;
  for (const Arr& a : order) {
    const int n_rep = a.layered ? static_cast<int>(L) : 1;
    const int64_t bytes = a.per_layer_ne0 * a.per_layer_ne1 * 4;
    if (offset + bytes * n_rep > size) {
      return corrupt("{}: truncated at '{}' (needs {} bytes from offset {}, file has {})", path,
                     a.role[0] ? a.role : "freq_cis", bytes * n_rep, offset, size);
    }
    for (int l = 0; l < n_rep; ++l) {
      if (a.role[0]) {
        const std::string name = weight_name(a.role, l, TensorNaming::kGguf);
        tensors[name] = make_view(name, base + offset, a.per_layer_ne0, a.per_layer_ne1);
      }
      offset += bytes;
    }
  }
  if (offset != size) {
    return corrupt(
        "{}: {} trailing bytes after the weights (header says dim={} layers={}, "
        "vocab={}{})",
        path, size - offset, c.dim, c.n_layers, c.vocab_size, shared ? "" : ", untied classifier");
  }
  m.converted = std::make_shared<std::vector<std::vector<float>>>();
  LK_ASSIGN_OR_RETURN(
      m.weights, model_weights_from_tensors(s, tensors, TensorNaming::kGguf, m.converted.get()));
  m.rope_style = RopeStyle::kAdjacentPairs;
  m.source = path;
  m.format = "llama2c";
  m.storage = file;
  return m;
}

}  // namespace lk
