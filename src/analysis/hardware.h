// Hardware catalog: the four resources FRAMEWORK.md's cost model reads — dense bf16 FLOP/s
// (compute → prefill), device memory (→ concurrency), memory bandwidth (→ decode) and the
// host link (→ context switching) — for the accelerators it names, each figure cited to
// the vendor's spec sheet in hardware.cpp.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk {

struct HardwareSpec {
  std::string id;         // "a100-80gb"
  std::string name;       // "NVIDIA A100 80GB SXM"
  int year = 0;           // launch year: orders the "hardware generation" sweep
  double flops = 0;       // dense bf16 tensor FLOP/s (no sparsity)
  double mem_bytes = 0;   // device memory in bytes
  double bw = 0;          // memory bandwidth, bytes/s
  double link_peak = 0;   // host link theoretical bytes/s per direction
  double link = 0;        // host link effective bytes/s per direction (what switching gets)
  std::string link_name;  // "PCIe 4.0 x16"

  // Peak FLOP/s ÷ bandwidth: a batch of fewer tokens than this is memory-bound.
  double critical_intensity() const { return flops / bw; }
};

// Effective fraction of a PCIe link's theoretical per-direction rate. FRAMEWORK.md takes
// 20 GB/s as the effective rate of the A100's PCIe 4.0 x16 (32 GB/s per direction); the
// catalog applies the same 62.5% to every link so the entries stay comparable.
inline constexpr double kLinkEfficiency = 0.625;

// Catalog entries in catalog order.
const std::vector<HardwareSpec>& hardware_catalog();
std::vector<std::string> hardware_names();

// The entry with that id (case-insensitive); kNotFound naming the valid ids otherwise.
Result<HardwareSpec> hardware_lookup(const std::string& id);

}  // namespace lk
