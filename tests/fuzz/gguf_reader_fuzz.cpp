// Fuzz target: the GGUF reader (header, metadata of every type, tensor infos) and everything
// downstream of a successful parse — typed getters, ModelSpec derivation, value printing and
// dequantization of every tensor. Any input must give a Status, never a crash or a read out
// of bounds (run under ASan). Seeds: tests/fuzz/corpus/gguf_reader_fuzz (tools/make_reader_fuzz_seeds.py).
#include <cstddef>
#include <cstdint>

#include "model/gguf_reader.h"
#include "model/gguf_spec.h"
#include "model/quant.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool header_only : {false, true}) {
    auto g = lk::GgufFile::from_memory(data, size, "fuzz.gguf", {header_only});
    if (!g.is_ok()) continue;
    const lk::GgufFile& f = **g;
    for (const auto& [key, v] : f.metadata()) {
      (void)v.to_string(4);
      (void)f.get_u32(key);
      (void)f.get_i64(key);
      (void)f.get_f32(key);
      (void)f.get_str(key);
      (void)f.get_bool(key);
      (void)f.get_i32_arr(key);
      (void)f.get_f32_arr(key);
      (void)f.get_str_arr(key);
    }
    (void)lk::model_spec_from_gguf(f);
    if (header_only) continue;
    int64_t budget = 1 << 20;  // elements dequantized per input
    for (const auto& info : f.tensors()) {
      const lk::TensorView t = f.view(info);
      if (t.n_elements() > budget) continue;
      budget -= t.n_elements();
      (void)lk::dequantize_tensor(t);
    }
  }
  return 0;
}
