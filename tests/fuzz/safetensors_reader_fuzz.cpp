// Fuzz target: the safetensors reader (8-byte length, JSON header, dtype/shape/offset
// validation) and reading every tensor it accepts. Any input must give a Status, never a
// crash or an out-of-bounds read (run under ASan). Seeds:
// tests/fuzz/corpus/safetensors_reader_fuzz (tools/make_reader_fuzz_seeds.py).
#include <cstddef>
#include <cstdint>

#include "model/quant.h"
#include "model/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = lk::SafetensorsFile::from_memory(data, size, "fuzz.safetensors");
  if (!s.is_ok()) return 0;
  int64_t budget = 1 << 20;
  for (const auto& e : (*s)->entries()) {
    auto t = (*s)->tensor(e.name);
    if (!t.is_ok() || t->n_elements() > budget) continue;
    budget -= t->n_elements();
    (void)lk::dequantize_tensor(*t);
  }
  return 0;
}
