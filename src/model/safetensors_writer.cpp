#include "model/safetensors_writer.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "model/tensor_file_writer.h"

namespace lk {

namespace {
const char* st_dtype(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    default:
      return nullptr;
  }
}
}  // namespace

Status SafetensorsWriter::declare_tensor(const std::string& name, DType dtype,
                                         const std::vector<int64_t>& shape) {
  if (st_dtype(dtype) == nullptr)
    return invalid_argument(
        "safetensors writer: tensor '{}': dtype {} cannot be stored in "
        "safetensors (valid: f32, f16, bf16)",
        name, dtype_name(dtype));
  for (const auto& t : tensors_)
    if (t.name == name) return invalid_argument("safetensors writer: duplicate tensor '{}'", name);
  if (name == "__metadata__") return invalid_argument("safetensors writer: reserved name");
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("safetensors writer: tensor '{}' has a negative dim", name);
    n *= static_cast<uint64_t>(d);
  }
  const uint64_t bytes = n * static_cast<uint64_t>(dtype_block_bytes(dtype));
  tensors_.push_back({name, dtype, shape, data_size_, data_size_ + bytes, {}});
  data_size_ += bytes;
  return Status::ok();
}

Status SafetensorsWriter::add_tensor(const std::string& name, DType dtype,
                                     const std::vector<int64_t>& shape, const void* data,
                                     size_t nbytes) {
  LK_RETURN_IF_ERROR(declare_tensor(name, dtype, shape));
  Tensor& t = tensors_.back();
  if (nbytes != t.end - t.begin) {
    const uint64_t want = t.end - t.begin;
    data_size_ = t.begin;
    tensors_.pop_back();
    return invalid_argument("safetensors writer: tensor '{}' given {} bytes, its shape needs {}",
                            name, nbytes, want);
  }
  const auto* p = static_cast<const uint8_t*>(data);
  t.data.assign(p, p + nbytes);
  return Status::ok();
}

std::vector<uint8_t> SafetensorsWriter::header_bytes() const {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata_.empty()) h["__metadata__"] = metadata_;
  for (const auto& t : tensors_)
    h[t.name] = {
        {"dtype", st_dtype(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  std::string text = h.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';
  const uint64_t n = text.size();
  std::vector<uint8_t> b(8 + n);
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, text.data(), n);
  return b;
}

std::vector<uint8_t> SafetensorsWriter::to_bytes() const {
  std::vector<uint8_t> b = header_bytes();
  for (const auto& t : tensors_) {
    LK_CHECK_MSG(t.data.size() == t.end - t.begin, "tensor '{}' declared without data", t.name);
    b.insert(b.end(), t.data.begin(), t.data.end());
  }
  return b;
}

Status SafetensorsWriter::write_file(const std::string& path, const TensorDataFn& produce) const {
  TensorFileWriter out(path, "safetensors writer");
  LK_RETURN_IF_ERROR(out.open());
  const auto header = header_bytes();
  LK_RETURN_IF_ERROR(out.write(header.data(), header.size()));
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    LK_RETURN_IF_ERROR(
        out.write_tensor(t.name, t.end - t.begin, produce, i, t.data.data(), t.data.size()));
  }
  return out.commit();
}

}  // namespace lk
