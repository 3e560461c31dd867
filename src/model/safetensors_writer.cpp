#include "model/safetensors_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/check.h"

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
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return io_error("{}: cannot create: {}", tmp, std::strerror(errno));
  auto fail = [&](Status s) {
    std::fclose(f);
    std::remove(tmp.c_str());
    return s;
  };
  auto write = [&](const void* p, size_t n) -> Status {
    if (n > 0 && std::fwrite(p, 1, n, f) != n)
      return io_error("{}: write failed: {}", tmp, std::strerror(errno));
    return Status::ok();
  };
  const auto header = header_bytes();
  if (Status s = write(header.data(), header.size()); !s) return fail(s);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    const uint64_t want = t.end - t.begin;
    uint64_t written = 0;
    const ByteSink sink = [&](const void* p, size_t n) -> Status {
      if (written + n > want)
        return make_error(StatusCode::kInternal,
                          "safetensors writer: tensor '{}' produced more than {} bytes", t.name,
                          want);
      written += n;
      return write(p, n);
    };
    if (Status s = produce ? produce(i, sink) : sink(t.data.data(), t.data.size()); !s)
      return fail(s);
    if (written != want)
      return fail(make_error(StatusCode::kInternal,
                             "safetensors writer: tensor '{}' produced {} bytes, expected {}",
                             t.name, written, want));
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    return io_error("{}: close failed: {}", tmp, std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return io_error("{}: cannot rename to {}: {}", tmp, path, ec.message());
  }
  return Status::ok();
}

}  // namespace lk
