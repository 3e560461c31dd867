#include "model/gguf_writer.h"

#include <cstring>

#include "core/check.h"
#include "model/tensor_file_writer.h"

namespace lk {

namespace {

template <typename T>
void put(std::vector<uint8_t>& b, T v) {
  const size_t at = b.size();
  b.resize(at + sizeof(T));
  std::memcpy(b.data() + at, &v, sizeof(T));
}

void put_str(std::vector<uint8_t>& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  LK_CHECK_MSG(alignment > 0 && (alignment & (alignment - 1)) == 0, "alignment {}", alignment);
  if (alignment != kGgufDefaultAlignment) set_u32("general.alignment", alignment);
}

void GgufWriter::set(const std::string& key, GgufType type, std::vector<uint8_t> encoded) {
  for (auto& kv : kv_) {
    if (kv.key == key) {
      kv.type = type;
      kv.encoded = std::move(encoded);
      return;
    }
  }
  kv_.push_back({key, type, std::move(encoded)});
}

void GgufWriter::set_u8(const std::string& key, uint8_t v) {
  std::vector<uint8_t> b;
  put(b, v);
  set(key, GgufType::kU8, std::move(b));
}
void GgufWriter::set_u32(const std::string& key, uint32_t v) {
  std::vector<uint8_t> b;
  put(b, v);
  set(key, GgufType::kU32, std::move(b));
}
void GgufWriter::set_i32(const std::string& key, int32_t v) {
  std::vector<uint8_t> b;
  put(b, v);
  set(key, GgufType::kI32, std::move(b));
}
void GgufWriter::set_u64(const std::string& key, uint64_t v) {
  std::vector<uint8_t> b;
  put(b, v);
  set(key, GgufType::kU64, std::move(b));
}
void GgufWriter::set_f32(const std::string& key, float v) {
  std::vector<uint8_t> b;
  put(b, v);
  set(key, GgufType::kF32, std::move(b));
}
void GgufWriter::set_bool(const std::string& key, bool v) {
  std::vector<uint8_t> b;
  put<uint8_t>(b, v ? 1 : 0);
  set(key, GgufType::kBool, std::move(b));
}
void GgufWriter::set_str(const std::string& key, const std::string& v) {
  std::vector<uint8_t> b;
  put_str(b, v);
  set(key, GgufType::kString, std::move(b));
}
void GgufWriter::set_str_arr(const std::string& key, const std::vector<std::string>& v) {
  std::vector<uint8_t> b;
  put<uint32_t>(b, static_cast<uint32_t>(GgufType::kString));
  put<uint64_t>(b, v.size());
  for (const auto& s : v) put_str(b, s);
  set(key, GgufType::kArray, std::move(b));
}
void GgufWriter::set_i32_arr(const std::string& key, const std::vector<int32_t>& v) {
  std::vector<uint8_t> b;
  put<uint32_t>(b, static_cast<uint32_t>(GgufType::kI32));
  put<uint64_t>(b, v.size());
  for (int32_t x : v) put(b, x);
  set(key, GgufType::kArray, std::move(b));
}
void GgufWriter::set_f32_arr(const std::string& key, const std::vector<float>& v) {
  std::vector<uint8_t> b;
  put<uint32_t>(b, static_cast<uint32_t>(GgufType::kF32));
  put<uint64_t>(b, v.size());
  for (float x : v) put(b, x);
  set(key, GgufType::kArray, std::move(b));
}
void GgufWriter::set_raw(const std::string& key, GgufType type, std::vector<uint8_t> encoded) {
  set(key, type, std::move(encoded));
}

Status GgufWriter::declare_tensor(const std::string& name, DType dtype,
                                  const std::vector<int64_t>& ne) {
  for (const auto& t : tensors_)
    if (t.name == name) return invalid_argument("gguf writer: duplicate tensor '{}'", name);
  if (ne.empty() || ne.size() > kGgufMaxDims)
    return invalid_argument("gguf writer: tensor '{}' has {} dims (valid: 1..4)", name, ne.size());
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d < 0) return invalid_argument("gguf writer: tensor '{}' has a negative dim", name);
    n *= d;
  }
  if (ne[0] % dtype_block_elems(dtype) != 0)
    return invalid_argument(
        "gguf writer: tensor '{}': ne[0] = {} is not a multiple of the {} "
        "block size {}",
        name, ne[0], dtype_name(dtype), dtype_block_elems(dtype));
  Tensor t{name,       dtype, ne, n / dtype_block_elems(dtype) * dtype_block_bytes(dtype),
           data_size_, {}};
  data_size_ = align_up(data_size_ + static_cast<uint64_t>(t.nbytes), alignment_);
  tensors_.push_back(std::move(t));
  return Status::ok();
}

Status GgufWriter::add_tensor(const std::string& name, DType dtype, const std::vector<int64_t>& ne,
                              const void* data, size_t nbytes) {
  LK_RETURN_IF_ERROR(declare_tensor(name, dtype, ne));
  Tensor& t = tensors_.back();
  if (static_cast<int64_t>(nbytes) != t.nbytes) {
    const int64_t want = t.nbytes;
    data_size_ = t.offset;
    tensors_.pop_back();
    return invalid_argument("gguf writer: tensor '{}' given {} bytes, its shape needs {}", name,
                            nbytes, want);
  }
  const auto* p = static_cast<const uint8_t*>(data);
  t.data.assign(p, p + nbytes);
  return Status::ok();
}

std::vector<uint8_t> GgufWriter::header_bytes() const {
  std::vector<uint8_t> b;
  put<uint32_t>(b, kGgufMagic);
  put<uint32_t>(b, kGgufVersion);
  put<uint64_t>(b, tensors_.size());
  put<uint64_t>(b, kv_.size());
  for (const auto& kv : kv_) {
    put_str(b, kv.key);
    put<uint32_t>(b, static_cast<uint32_t>(kv.type));
    b.insert(b.end(), kv.encoded.begin(), kv.encoded.end());
  }
  for (const auto& t : tensors_) {
    put_str(b, t.name);
    put<uint32_t>(b, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(b, static_cast<uint64_t>(d));
    put<uint32_t>(b, static_cast<uint32_t>(t.dtype));
    put<uint64_t>(b, t.offset);
  }
  b.resize(align_up(b.size(), alignment_), 0);
  return b;
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> b = header_bytes();
  const size_t base = b.size();
  b.resize(base + data_size_, 0);
  for (const auto& t : tensors_) {
    LK_CHECK_MSG(static_cast<int64_t>(t.data.size()) == t.nbytes,
                 "tensor '{}' was declared without data", t.name);
    if (!t.data.empty()) std::memcpy(b.data() + base + t.offset, t.data.data(), t.data.size());
  }
  return b;
}

Status GgufWriter::write_file(const std::string& path, const TensorDataFn& produce) const {
  TensorFileWriter out(path, "gguf writer");
  LK_RETURN_IF_ERROR(out.open());
  const std::vector<uint8_t> header = header_bytes();
  LK_RETURN_IF_ERROR(out.write(header.data(), header.size()));
  const std::vector<uint8_t> zeros(alignment_, 0);
  uint64_t pos = 0;  // within the data section
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    LK_RETURN_IF_ERROR(out.write(zeros.data(), t.offset - pos));  // alignment padding
    LK_RETURN_IF_ERROR(out.write_tensor(t.name, static_cast<uint64_t>(t.nbytes), produce, i,
                                        t.data.data(), t.data.size()));
    pos = t.offset + static_cast<uint64_t>(t.nbytes);
  }
  LK_RETURN_IF_ERROR(out.write(zeros.data(), data_size_ - pos));
  return out.commit();
}

}  // namespace lk
