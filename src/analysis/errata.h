// FRAMEWORK.md's running example (Yi-34B-200K on one A100 80GB), figure by figure: what the
// source prints, what its own formula gives on its own stated inputs, what longkv computes
// from the released config and the vendor's spec sheet, and why they differ.
#pragma once

#include <string>
#include <vector>

#include "analysis/cost_model.h"

namespace lk {

struct Erratum {
  std::string quantity;  // "KV cache, 50K context"
  std::string unit;      // GB | s | FLOP | users | (empty: plain number)
  std::string printed;   // the source's figure as printed: "~20", "0.91"
  double printed_value;  // the same, as a number
  double formula;        // FRAMEWORK.md's formula on FRAMEWORK.md's inputs
  double actual;         // released config + catalog hardware (NaN: not applicable)
  double reading;        // the value under the likely cause given in `why` (NaN: none found)
  bool agrees;           // the printed figure is the formula's value, rounded
  std::string cause;     // the likely cause in a few words (empty when it agrees)
  std::string why;
};

// The source's stated inputs: 34e9 parameters, 60 layers, 8 KV heads of 128, bf16, an
// attention width of 4096 in the prefill formula; A100 at 312 TFLOP/s, 80e9 bytes, 2 TB/s,
// host link 20 GB/s.
ModelSpec framework_model();
Deployment framework_deployment();

// Every figure of the running example, in FRAMEWORK.md's order.
std::vector<Erratum> framework_errata();

}  // namespace lk
