#include "analysis/hardware.h"

#include <algorithm>
#include <cctype>

namespace lk {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;
constexpr double kT = 1e12;

// Memory sizes: vendors print "80GB" for what the device exposes as 80 GiB (nvidia-smi
// reports 81920 MiB on an A100 80GB), so nominal capacities are taken as GiB.
HardwareSpec make(const char* id, const char* name, int year, double tflops, double mem_gib,
                  double bw_gbs, double link_peak_gbs, const char* link_name) {
  HardwareSpec h;
  h.id = id;
  h.name = name;
  h.year = year;
  h.flops = tflops * kT;
  h.mem_bytes = mem_gib * kGiB;
  h.bw = bw_gbs * kGB;
  h.link_peak = link_peak_gbs * kGB;
  h.link = h.link_peak * kLinkEfficiency;
  h.link_name = link_name;
  return h;
}

std::vector<HardwareSpec> build_catalog() {
  return {
      // NVIDIA Ada GPU Architecture whitepaper (v2.1), Appendix A, GeForce RTX 4090: BF16
      // tensor 165.2 TFLOPS dense with FP32 accumulate (330.4 sparse), 24 GB GDDR6X,
      // 1008 GB/s; PCIe 4.0 x16 (PCI-SIG: 16 GT/s x16 ≈ 32 GB/s per direction).
      make("rtx-4090", "NVIDIA GeForce RTX 4090", 2022, 165.2, 24, 1008, 32, "PCIe 4.0 x16"),
      // NVIDIA A100 Tensor Core GPU datasheet (2021), A100 80GB SXM: BF16 312 TFLOPS dense
      // (624 sparse), 80GB HBM2e, 2,039 GB/s; PCIe Gen4 64 GB/s (both directions).
      make("a100-80gb", "NVIDIA A100 80GB SXM", 2020, 312, 80, 2039, 32, "PCIe 4.0 x16"),
      // NVIDIA H100 Tensor Core GPU datasheet, H100 SXM: BF16 1,979 TFLOPS with sparsity
      // → 989.5 dense, 80GB HBM3, 3.35 TB/s; PCIe Gen5 128 GB/s (both directions).
      make("h100-sxm", "NVIDIA H100 SXM 80GB", 2022, 989.5, 80, 3350, 64, "PCIe 5.0 x16"),
      // NVIDIA H200 Tensor Core GPU datasheet, H200 SXM: BF16 1,979 TFLOPS with sparsity
      // → 989.5 dense, 141GB HBM3e, 4.8 TB/s; PCIe Gen5 128 GB/s (both directions).
      make("h200", "NVIDIA H200 SXM 141GB", 2024, 989.5, 141, 4800, 64, "PCIe 5.0 x16"),
      // NVIDIA HGX B200 datasheet (per GPU): FP16/BF16 4.5 PFLOPS with sparsity → 2.25
      // dense, 180GB HBM3e, 8 TB/s (DGX B200: 1,440 GB and 64 TB/s for 8 GPUs); host
      // link PCIe Gen5 x16.
      make("b200", "NVIDIA B200 180GB", 2024, 2250, 180, 8000, 64, "PCIe 5.0 x16"),
      // AMD Instinct MI300X accelerator datasheet: peak BF16 1307.4 TFLOPS dense (2614.9
      // with sparsity), 192 GB HBM3, 5.3 TB/s; PCIe Gen5 x16 128 GB/s (both directions).
      make("mi300x", "AMD Instinct MI300X", 2023, 1307.4, 192, 5300, 64, "PCIe 5.0 x16"),
  };
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

const std::vector<HardwareSpec>& hardware_catalog() {
  static const std::vector<HardwareSpec> c = build_catalog();
  return c;
}

std::vector<std::string> hardware_names() {
  std::vector<std::string> names;
  for (const auto& h : hardware_catalog()) names.push_back(h.id);
  return names;
}

Result<HardwareSpec> hardware_lookup(const std::string& id) {
  const std::string key = lower(id);
  for (const auto& h : hardware_catalog())
    if (key == h.id) return h;
  std::string valid;
  for (const auto& h : hardware_catalog()) valid += (valid.empty() ? "" : ", ") + h.id;
  return not_found("unknown hardware '{}' (valid: {})", id, valid);
}

}  // namespace lk
