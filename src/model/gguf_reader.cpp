#include "model/gguf_reader.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace lk {

namespace {

constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are refused (stack safety)

// Bounds-checked little-endian reader over the mapped header. Every read names what it
// reads so a truncated file says which field ran past the end.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path)
      : data_(data), size_(size), path_(path) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <typename T>
  Status read(T* out, std::string_view what) {
    if (remaining() < sizeof(T)) return truncated(what, sizeof(T));
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }

  Status read_string(std::string_view* out, std::string_view what) {
    uint64_t len = 0;
    LK_RETURN_IF_ERROR(read(&len, what));
    if (len > remaining())
      return corrupt(
          "{}: {}: string length {} exceeds the {} bytes left in the file (offset {}; truncated?)",
          path_, what, len, remaining(), pos_);
    *out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::ok();
  }

  // Skips n bytes that were already checked to fit (array payloads).
  const uint8_t* take(uint64_t n) {
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

  Status truncated(std::string_view what, uint64_t need) const {
    return corrupt("{}: truncated: {} needs {} bytes at offset {} but the file has {} bytes", path_,
                   what, need, pos_, size_);
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

Status read_value(Cursor& c, GgufType type, GgufValue* v, const std::string& what, int depth,
                  const std::string& path);

Status read_array(Cursor& c, GgufValue* v, const std::string& what, int depth,
                  const std::string& path) {
  if (depth >= kMaxArrayDepth)
    return corrupt("{}: {}: arrays nested deeper than {} levels", path, what, kMaxArrayDepth);
  uint32_t et = 0;
  LK_RETURN_IF_ERROR(c.read(&et, what + " array element type"));
  if (!gguf_type_is_valid(et))
    return corrupt("{}: {}: invalid array element type {} (valid: 0..12)", path, what, et);
  v->elem_type = static_cast<GgufType>(et);
  LK_RETURN_IF_ERROR(c.read(&v->count, what + " array length"));
  const int esize = gguf_type_size(v->elem_type);
  // Smallest possible encoding of one element: its size, 8 (string length), 12 (array header).
  const uint64_t min_elem = esize > 0 ? esize : (v->elem_type == GgufType::kString ? 8 : 12);
  if (v->count > c.remaining() / min_elem)
    return corrupt(
        "{}: {}: array of {} {} elements cannot fit in the {} bytes left in the file (truncated?)",
        path, what, v->count, gguf_type_name(v->elem_type), c.remaining());
  if (esize > 0) {
    v->elems = c.take(v->count * static_cast<uint64_t>(esize));
    return Status::ok();
  }
  if (v->elem_type == GgufType::kString) {
    v->strings.resize(v->count);
    for (uint64_t k = 0; k < v->count; ++k) LK_RETURN_IF_ERROR(c.read_string(&v->strings[k], what));
    return Status::ok();
  }
  v->items.resize(v->count);
  for (uint64_t k = 0; k < v->count; ++k) {
    v->items[k].type = GgufType::kArray;
    LK_RETURN_IF_ERROR(read_array(c, &v->items[k], what, depth + 1, path));
  }
  return Status::ok();
}

Status read_value(Cursor& c, GgufType type, GgufValue* v, const std::string& what, int depth,
                  const std::string& path) {
  v->type = type;
  switch (type) {
    case GgufType::kU8: {
      uint8_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->u = x;
      break;
    }
    case GgufType::kI8: {
      int8_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->i = x;
      break;
    }
    case GgufType::kU16: {
      uint16_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->u = x;
      break;
    }
    case GgufType::kI16: {
      int16_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->i = x;
      break;
    }
    case GgufType::kU32: {
      uint32_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->u = x;
      break;
    }
    case GgufType::kI32: {
      int32_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->i = x;
      break;
    }
    case GgufType::kU64: {
      uint64_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->u = x;
      break;
    }
    case GgufType::kI64: {
      int64_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->i = x;
      break;
    }
    case GgufType::kF32: {
      float x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->f = x;
      break;
    }
    case GgufType::kF64: {
      double x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      v->f = x;
      break;
    }
    case GgufType::kBool: {
      uint8_t x = 0;
      LK_RETURN_IF_ERROR(c.read(&x, what));
      if (x > 1) return corrupt("{}: {}: bool value {} is neither 0 nor 1", path, what, x);
      v->u = x;
      break;
    }
    case GgufType::kString:
      LK_RETURN_IF_ERROR(c.read_string(&v->str, what));
      break;
    case GgufType::kArray:
      LK_RETURN_IF_ERROR(read_array(c, v, what, depth, path));
      break;
  }
  return Status::ok();
}

bool is_signed_type(GgufType t) {
  return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}
bool is_unsigned_type(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kU16 || t == GgufType::kU32 || t == GgufType::kU64;
}

template <typename T>
T load(const uint8_t* p) {
  T x;
  std::memcpy(&x, p, sizeof(T));
  return x;
}

std::string quote(std::string_view s, size_t max_len = 40) {
  std::string out = "\"";
  for (size_t k = 0; k < s.size() && k < max_len; ++k) {
    const unsigned char ch = static_cast<unsigned char>(s[k]);
    if (ch == '"' || ch == '\\')
      out += fmt::format("\\{}", static_cast<char>(ch));
    else if (ch < 0x20 || ch == 0x7f)
      out += fmt::format("\\x{:02x}", ch);
    else
      out += static_cast<char>(ch);
  }
  if (s.size() > max_len) out += "...";
  return out + "\"";
}

}  // namespace

const char* ggml_type_name(uint32_t id) {
  static const char* const kNames[] = {
      "f32",     "f16",    "q4_0",    "q4_1",  nullptr,  nullptr, "q5_0",  "q5_1",
      "q8_0",    "q8_1",   "q2_k",    "q3_k",  "q4_k",   "q5_k",  "q6_k",  "q8_k",
      "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs",
      "i8",      "i16",    "i32",     "i64",   "f64",    "iq1_m", "bf16",  nullptr,
      nullptr,   nullptr,  "tq1_0",   "tq2_0", nullptr,  nullptr, nullptr, "mxfp4"};
  if (id >= sizeof(kNames) / sizeof(kNames[0])) return nullptr;
  return kNames[id];
}

bool GgufValue::is_integer() const {
  return is_signed_type(type) || is_unsigned_type(type);
}
bool GgufValue::is_float() const {
  return type == GgufType::kF32 || type == GgufType::kF64;
}

bool GgufValue::as_i64(int64_t* out) const {
  if (is_signed_type(type)) {
    *out = i;
    return true;
  }
  if (is_unsigned_type(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  return false;
}

double GgufValue::elem_as_f64(uint64_t k) const {
  const uint8_t* p = elems + k * gguf_type_size(elem_type);
  switch (elem_type) {
    case GgufType::kU8:
      return load<uint8_t>(p);
    case GgufType::kI8:
      return load<int8_t>(p);
    case GgufType::kU16:
      return load<uint16_t>(p);
    case GgufType::kI16:
      return load<int16_t>(p);
    case GgufType::kU32:
      return load<uint32_t>(p);
    case GgufType::kI32:
      return load<int32_t>(p);
    case GgufType::kU64:
      return static_cast<double>(load<uint64_t>(p));
    case GgufType::kI64:
      return static_cast<double>(load<int64_t>(p));
    case GgufType::kF32:
      return load<float>(p);
    case GgufType::kF64:
      return load<double>(p);
    case GgufType::kBool:
      return load<uint8_t>(p);
    default:
      return 0;
  }
}

std::string GgufValue::to_string(size_t max_items) const {
  if (is_unsigned_type(type)) return fmt::format("{}", u);
  if (is_signed_type(type)) return fmt::format("{}", i);
  if (type == GgufType::kF32) return fmt::format("{}", static_cast<float>(f));
  if (type == GgufType::kF64) return fmt::format("{}", f);
  if (type == GgufType::kBool) return u ? "true" : "false";
  if (type == GgufType::kString) return quote(str, 80);
  std::string out = fmt::format("[{} × {}", gguf_type_name(elem_type), count);
  const uint64_t n = std::min<uint64_t>(count, max_items);
  for (uint64_t k = 0; k < n; ++k) {
    out += k == 0 ? ": " : ", ";
    if (elem_type == GgufType::kString)
      out += quote(strings[k]);
    else if (elem_type == GgufType::kArray)
      out += items[k].to_string(max_items);
    else if (elem_type == GgufType::kF32 || elem_type == GgufType::kF64)
      out += fmt::format("{}", elem_as_f64(k));
    else
      out += fmt::format("{}", static_cast<int64_t>(elem_as_f64(k)));
  }
  if (count > n) out += ", ...";
  return out + "]";
}

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path, GgufOpenOptions options) {
  LK_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return parse(std::move(file), options);
}

Result<std::unique_ptr<GgufFile>> GgufFile::from_memory(const void* data, size_t size,
                                                        std::string name, GgufOpenOptions options) {
  return parse(MappedFile::borrow(data, size, std::move(name)), options);
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(std::unique_ptr<MappedFile> file,
                                                  GgufOpenOptions options) {
  std::unique_ptr<GgufFile> g(new GgufFile());
  g->file_ = std::move(file);
  g->header_only_ = options.header_only;
  LK_RETURN_IF_ERROR(g->parse_header());
  return g;
}

Status GgufFile::parse_header() {
  const std::string& p = file_->path();
  Cursor c(file_->data(), file_->size(), p);
  uint32_t magic = 0;
  LK_RETURN_IF_ERROR(c.read(&magic, "magic"));
  if (magic != kGgufMagic) {
    const uint8_t* m = file_->data();
    return corrupt("{}: not a GGUF file: magic is {:02x} {:02x} {:02x} {:02x}, expected \"GGUF\"",
                   p, m[0], m[1], m[2], m[3]);
  }
  LK_RETURN_IF_ERROR(c.read(&version_, "version"));
  if (version_ == 1)
    return unsupported("{}: GGUF version 1 (32-bit counts) is not supported (supported: 2, 3)", p);
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xffff) == 0)
      return unsupported(
          "{}: GGUF version {:#x} looks big-endian; only little-endian GGUF is "
          "supported",
          p, version_);
    return unsupported("{}: unknown GGUF version {} (supported: 2, 3)", p, version_);
  }
  uint64_t n_tensors = 0, n_kv = 0;
  LK_RETURN_IF_ERROR(c.read(&n_tensors, "tensor count"));
  LK_RETURN_IF_ERROR(c.read(&n_kv, "metadata count"));
  // A key/value pair takes at least 8 + 4 + 1 bytes, a tensor info 8 + 4 + 4 + 8.
  if (n_kv > c.remaining() / 13)
    return corrupt("{}: metadata count {} cannot fit in a file of {} bytes", p, n_kv,
                   file_->size());
  if (n_tensors > c.remaining() / 24)
    return corrupt("{}: tensor count {} cannot fit in a file of {} bytes", p, n_tensors,
                   file_->size());

  kv_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string field = fmt::format("metadata #{}", k);
    std::string_view key;
    LK_RETURN_IF_ERROR(c.read_string(&key, field + " key"));
    const std::string what = fmt::format("metadata '{}'", key);
    uint32_t type = 0;
    LK_RETURN_IF_ERROR(c.read(&type, what + " type"));
    if (!gguf_type_is_valid(type))
      return corrupt("{}: {}: invalid value type {} (valid: 0..12)", p, what, type);
    GgufValue v;
    LK_RETURN_IF_ERROR(read_value(c, static_cast<GgufType>(type), &v, what, 0, p));
    std::string skey(key);
    if (!kv_index_.emplace(skey, kv_.size()).second)
      return corrupt("{}: duplicate metadata key '{}'", p, skey);
    kv_.emplace_back(std::move(skey), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    int64_t al = 0;
    if (!a->as_i64(&al))
      return corrupt("{}: metadata 'general.alignment' must be an integer, got {}", p,
                     gguf_type_name(a->type));
    if (al <= 0 || al > (1 << 30) || (al & (al - 1)) != 0)
      return corrupt("{}: metadata 'general.alignment' = {} is not a power of two", p, al);
    alignment_ = static_cast<uint64_t>(al);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    std::string_view name;
    LK_RETURN_IF_ERROR(c.read_string(&name, fmt::format("tensor info #{} name", k)));
    t.name = std::string(name);
    const std::string what = fmt::format("tensor '{}'", t.name);
    uint32_t n_dims = 0;
    LK_RETURN_IF_ERROR(c.read(&n_dims, what + " n_dims"));
    if (n_dims == 0 || n_dims > kGgufMaxDims)
      return corrupt("{}: {}: n_dims = {} (valid: 1..{})", p, what, n_dims, kGgufMaxDims);
    t.n_dims = static_cast<int>(n_dims);
    int64_t n_elem = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      LK_RETURN_IF_ERROR(c.read(&ne, what + " dims"));
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return corrupt("{}: {}: ne[{}] = {} is out of range", p, what, d, ne);
      t.ne[d] = static_cast<int64_t>(ne);
      if (t.ne[d] != 0 && n_elem > std::numeric_limits<int64_t>::max() / t.ne[d])
        return corrupt("{}: {}: element count overflows (shape too large)", p, what);
      n_elem *= t.ne[d];
    }
    uint32_t type = 0;
    LK_RETURN_IF_ERROR(c.read(&type, what + " type"));
    if (!dtype_is_valid(static_cast<int32_t>(type))) {
      const char* gname = ggml_type_name(type);
      return unsupported(
          "{}: {}: tensor type {} ({}) is not supported (supported: f32, f16, bf16, q8_0, q4_0, "
          "q4_k, q5_k, q6_k)",
          p, what, gname ? gname : "unknown", type);
    }
    t.dtype = static_cast<DType>(type);
    const int64_t blk = dtype_block_elems(t.dtype);
    if (t.ne[0] % blk != 0)
      return corrupt("{}: {}: ne[0] = {} is not a multiple of the {} block size {}", p, what,
                     t.ne[0], dtype_name(t.dtype), blk);
    const int64_t n_blocks = n_elem / blk;
    if (n_blocks > std::numeric_limits<int64_t>::max() / dtype_block_bytes(t.dtype))
      return corrupt("{}: {}: byte size overflows (shape too large)", p, what);
    t.nbytes = n_blocks * dtype_block_bytes(t.dtype);
    LK_RETURN_IF_ERROR(c.read(&t.offset, what + " data offset"));
    if (t.offset % alignment_ != 0)
      return corrupt("{}: {}: data offset {} is not a multiple of the alignment {}", p, what,
                     t.offset, alignment_);
    if (!tensor_index_.emplace(t.name, tensors_.size()).second)
      return corrupt("{}: duplicate tensor name '{}'", p, t.name);
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment after the header.
  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t fsize = file_->size();
  if (!header_only_) {
    if (!tensors_.empty() && data_offset_ > fsize)
      return corrupt(
          "{}: truncated: tensor data should start at offset {} but the file has {} "
          "bytes",
          p, data_offset_, fsize);
    const uint64_t avail = fsize >= data_offset_ ? fsize - data_offset_ : 0;
    for (const auto& t : tensors_) {
      if (t.offset > avail || static_cast<uint64_t>(t.nbytes) > avail - t.offset)
        return corrupt(
            "{}: tensor '{}': data [{}, {}) lies past the end of the data section "
            "({} bytes; file truncated?)",
            p, t.name, t.offset, t.offset + static_cast<uint64_t>(t.nbytes), avail);
    }
  }
  return Status::ok();
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

Status GgufFile::type_error(std::string_view key, const GgufValue& v, const char* wanted) const {
  std::string got = gguf_type_name(v.type);
  if (v.type == GgufType::kArray) got = fmt::format("array of {}", gguf_type_name(v.elem_type));
  return corrupt("{}: metadata '{}': expected {}, got {} ({})", path(), key, wanted, got,
                 v.to_string(4));
}

Result<const GgufValue*> GgufFile::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return not_found("{}: metadata '{}' is missing", path(), key);
  return v;
}

Result<int64_t> GgufFile::get_i64(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  int64_t x = 0;
  if (!v->as_i64(&x)) return type_error(key, *v, "an integer (fitting i64)");
  return x;
}

Result<uint64_t> GgufFile::get_u64(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (is_unsigned_type(v->type)) return v->u;
  if (is_signed_type(v->type) && v->i >= 0) return static_cast<uint64_t>(v->i);
  return type_error(key, *v, "a non-negative integer");
}

Result<uint32_t> GgufFile::get_u32(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  int64_t x = 0;
  if (!v->as_i64(&x) || x < 0 || x > std::numeric_limits<uint32_t>::max())
    return type_error(key, *v, "an integer in [0, 2^32)");
  return static_cast<uint32_t>(x);
}

Result<int32_t> GgufFile::get_i32(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  int64_t x = 0;
  if (!v->as_i64(&x) || x < std::numeric_limits<int32_t>::min() ||
      x > std::numeric_limits<int32_t>::max())
    return type_error(key, *v, "an integer fitting i32");
  return static_cast<int32_t>(x);
}

Result<float> GgufFile::get_f32(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->is_float()) return static_cast<float>(v->f);
  int64_t x = 0;
  if (v->as_i64(&x)) return static_cast<float>(x);
  return type_error(key, *v, "a number");
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufType::kBool) return type_error(key, *v, "a bool");
  return v->u != 0;
}

Result<std::string> GgufFile::get_str(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufType::kString) return type_error(key, *v, "a string");
  return std::string(v->str);
}

Result<std::vector<std::string>> GgufFile::get_str_arr(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufType::kArray || v->elem_type != GgufType::kString)
    return type_error(key, *v, "an array of strings");
  return std::vector<std::string>(v->strings.begin(), v->strings.end());
}

Result<std::vector<int32_t>> GgufFile::get_i32_arr(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufType::kArray ||
      !(is_signed_type(v->elem_type) || is_unsigned_type(v->elem_type)))
    return type_error(key, *v, "an array of integers");
  std::vector<int32_t> out(v->count);
  for (uint64_t k = 0; k < v->count; ++k) {
    const double x = v->elem_as_f64(k);
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      return corrupt("{}: metadata '{}': element {} = {} does not fit i32", path(), key, k, x);
    out[k] = static_cast<int32_t>(x);
  }
  return out;
}

Result<std::vector<float>> GgufFile::get_f32_arr(std::string_view key) const {
  LK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufType::kArray || v->elem_type == GgufType::kString ||
      v->elem_type == GgufType::kArray || v->elem_type == GgufType::kBool)
    return type_error(key, *v, "an array of numbers");
  std::vector<float> out(v->count);
  for (uint64_t k = 0; k < v->count; ++k) out[k] = static_cast<float>(v->elem_as_f64(k));
  return out;
}

Result<uint32_t> GgufFile::get_u32_or(std::string_view key, uint32_t fallback) const {
  return has(key) ? get_u32(key) : Result<uint32_t>(fallback);
}
Result<float> GgufFile::get_f32_or(std::string_view key, float fallback) const {
  return has(key) ? get_f32(key) : Result<float>(fallback);
}
Result<std::string> GgufFile::get_str_or(std::string_view key, std::string fallback) const {
  return has(key) ? get_str(key) : Result<std::string>(std::move(fallback));
}
Result<bool> GgufFile::get_bool_or(std::string_view key, bool fallback) const {
  return has(key) ? get_bool(key) : Result<bool>(fallback);
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::view(const GgufTensorInfo& info) const {
  TensorView v;
  v.name = info.name;
  v.dtype = info.dtype;
  v.n_dims = info.n_dims;
  v.ne = info.ne;
  v.nbytes = info.nbytes;
  v.data = header_only_ ? nullptr : file_->data() + data_offset_ + info.offset;
  return v;
}

Result<TensorView> GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (t == nullptr) return not_found("{}: tensor '{}' not found", path(), name);
  return view(*t);
}

}  // namespace lk
