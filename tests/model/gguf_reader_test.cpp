// GGUF reader: round trips through the writer, and every malformed header field gives an
// error naming the file and the field (never a crash).
#include <gtest/gtest.h>

#include <cstring>

#include "model/gguf_reader.h"
#include "model/gguf_writer.h"

namespace lk {
namespace {

std::vector<uint8_t> small_file(uint32_t alignment = 32) {
  GgufWriter w(alignment);
  w.set_str("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_i32("neg", -5);
  w.set_u64("big", 1ull << 40);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_bool("flag", true);
  w.set_str_arr("tokenizer.ggml.tokens", {"a", "b", "<s>"});
  w.set_i32_arr("tokenizer.ggml.token_type", {1, 1, 3});
  w.set_f32_arr("tokenizer.ggml.scores", {0.5f, -1.f, 0.f});
  std::vector<float> a(8 * 3);
  for (size_t k = 0; k < a.size(); ++k) a[k] = static_cast<float>(k);
  EXPECT_TRUE(w.add_tensor("a", DType::kF32, {8, 3}, a.data(), a.size() * 4).is_ok());
  std::vector<uint8_t> q(34 * 2, 7);
  EXPECT_TRUE(w.add_tensor("q", DType::kQ8_0, {64}, q.data(), q.size()).is_ok());
  return w.to_bytes();
}

TEST(GgufReader, RoundTripsMetadataAndTensors) {
  auto bytes = small_file();
  auto g = GgufFile::from_memory(bytes.data(), bytes.size(), "mem.gguf");
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const GgufFile& f = **g;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(*f.get_str("general.architecture"), "llama");
  EXPECT_EQ(*f.get_u32("llama.block_count"), 2u);
  EXPECT_EQ(*f.get_i64("llama.block_count"), 2);
  EXPECT_EQ(*f.get_i32("neg"), -5);
  EXPECT_FALSE(f.get_u32("neg").is_ok());
  EXPECT_EQ(*f.get_u64("big"), 1ull << 40);
  EXPECT_FALSE(f.get_u32("big").is_ok());
  EXPECT_FLOAT_EQ(*f.get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_TRUE(*f.get_bool("flag"));
  EXPECT_EQ(*f.get_str_arr("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b", "<s>"}));
  EXPECT_EQ(*f.get_i32_arr("tokenizer.ggml.token_type"), (std::vector<int32_t>{1, 1, 3}));
  EXPECT_EQ(*f.get_f32_arr("tokenizer.ggml.scores"), (std::vector<float>{0.5f, -1.f, 0.f}));
  EXPECT_EQ(*f.get_u32_or("absent", 9), 9u);
  EXPECT_EQ(f.metadata().front().first, "general.architecture");

  ASSERT_EQ(f.tensors().size(), 2u);
  auto a = f.tensor("a");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->dtype, DType::kF32);
  EXPECT_EQ(a->n_dims, 2);
  EXPECT_EQ(a->ne[0], 8);
  EXPECT_EQ(a->ne[1], 3);
  EXPECT_EQ(a->nbytes, 96);
  float x;
  std::memcpy(&x, a->row(2) + 4 * 5, 4);
  EXPECT_EQ(x, 21.0f);
  auto q = f.tensor("q");
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->nbytes, 68);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q->data) % 32,
            reinterpret_cast<uintptr_t>(bytes.data()) % 32);
  auto missing = f.tensor("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
}

TEST(GgufReader, TypedGetterErrorsNameTheKey) {
  auto bytes = small_file();
  auto g = GgufFile::from_memory(bytes.data(), bytes.size(), "mem.gguf");
  ASSERT_TRUE(g.is_ok());
  auto s = (*g)->get_u32("general.architecture");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(s.status().message().find("mem.gguf"), std::string::npos);
  EXPECT_NE(s.status().message().find("general.architecture"), std::string::npos);
  EXPECT_NE(s.status().message().find("string"), std::string::npos);
  auto m = (*g)->get_f32("no.such.key");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
}

TEST(GgufReader, CustomAlignment) {
  auto bytes = small_file(64);
  auto g = GgufFile::from_memory(bytes.data(), bytes.size(), "mem.gguf");
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ((*g)->alignment(), 64u);
  EXPECT_EQ((*g)->data_offset() % 64, 0u);
  EXPECT_EQ((*g)->find_tensor("q")->offset % 64, 0u);
}

Status parse(const std::vector<uint8_t>& b, bool header_only = false) {
  return GgufFile::from_memory(b.data(), b.size(), "bad.gguf", {header_only}).status();
}

void expect_error(const std::vector<uint8_t>& b, const std::string& needle) {
  Status s = parse(b);
  ASSERT_FALSE(s.is_ok()) << "expected an error mentioning " << needle;
  EXPECT_NE(s.message().find("bad.gguf"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

TEST(GgufReader, RejectsWrongMagicAndVersion) {
  auto b = small_file();
  auto c = b;
  c[0] = 'X';
  expect_error(c, "magic");
  c = b;
  c[4] = 7;
  expect_error(c, "version 7");
  c = b;
  c[4] = 1;
  expect_error(c, "version 1");
  expect_error({}, "truncated");
  expect_error({'G', 'G', 'U', 'F'}, "version");
}

TEST(GgufReader, RejectsEveryTruncation) {
  auto b = small_file();
  // Only the padding after the last tensor may go missing.
  auto g = GgufFile::from_memory(b.data(), b.size(), "mem.gguf");
  const auto* q = (*g)->find_tensor("q");
  const size_t end = (*g)->data_offset() + q->offset + q->nbytes;
  EXPECT_TRUE(parse(std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(end))).is_ok());
  for (size_t n = 0; n < end; ++n) {
    std::vector<uint8_t> c(b.begin(), b.begin() + static_cast<long>(n));
    Status s = parse(c);
    ASSERT_FALSE(s.is_ok()) << "truncated to " << n << " bytes was accepted";
    EXPECT_EQ(s.code(), StatusCode::kCorrupt) << s.message();
  }
}

TEST(GgufReader, HeaderOnlyAcceptsMissingData) {
  auto b = small_file();
  auto g = GgufFile::from_memory(b.data(), b.size(), "mem.gguf");
  const size_t header = (*g)->data_offset();
  std::vector<uint8_t> c(b.begin(), b.begin() + static_cast<long>(header));
  EXPECT_FALSE(parse(c).is_ok());
  auto h = GgufFile::from_memory(c.data(), c.size(), "mem.gguf", {.header_only = true});
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ((*h)->tensors().size(), 2u);
  EXPECT_EQ((*h)->tensor("a")->data, nullptr);
  EXPECT_EQ(*(*h)->get_u32("llama.block_count"), 2u);
}

// Offsets of fields in a hand-built file with one tensor and no metadata.
std::vector<uint8_t> one_tensor_file(uint32_t type, uint64_t ne0, uint64_t offset,
                                     uint32_t n_dims = 1) {
  GgufWriter w;
  std::vector<uint8_t> b;
  auto put = [&](auto v) {
    const size_t at = b.size();
    b.resize(at + sizeof(v));
    std::memcpy(b.data() + at, &v, sizeof(v));
  };
  put(kGgufMagic);
  put(uint32_t{3});
  put(uint64_t{1});
  put(uint64_t{0});
  put(uint64_t{1});
  b.push_back('t');
  put(n_dims);
  for (uint32_t d = 0; d < n_dims; ++d) put(ne0);
  put(type);
  put(offset);
  b.resize((b.size() + 31) / 32 * 32 + 256, 0);
  return b;
}

TEST(GgufReader, RejectsBadTensorInfos) {
  EXPECT_TRUE(parse(one_tensor_file(0, 4, 0)).is_ok());
  expect_error(one_tensor_file(3, 32, 0), "q4_1");  // known to ggml, unsupported
  expect_error(one_tensor_file(77, 32, 0), "tensor type unknown");
  expect_error(one_tensor_file(0, 4, 7), "alignment");        // misaligned offset
  expect_error(one_tensor_file(0, 4, 1024), "past the end");  // out of bounds
  expect_error(one_tensor_file(8, 33, 0), "block size");      // q8_0 row not multiple of 32
  expect_error(one_tensor_file(0, 4, 0, 0), "n_dims");
  expect_error(one_tensor_file(0, 4, 0, 5), "n_dims");
  expect_error(one_tensor_file(0, 1ull << 62, 0, 2), "overflow");
  expect_error(one_tensor_file(0, ~0ull, 0), "out of range");
  EXPECT_EQ(parse(one_tensor_file(3, 32, 0)).code(), StatusCode::kUnsupported);
}

TEST(GgufReader, RejectsBadMetadata) {
  {
    GgufWriter w;
    w.set_raw("k", static_cast<GgufType>(42), {});
    expect_error(w.to_bytes(), "invalid value type 42");
  }
  {
    GgufWriter w;
    std::vector<uint8_t> enc(12, 0);  // array of u8 with a huge count
    enc[0] = 0;
    uint64_t n = 1ull << 60;
    std::memcpy(enc.data() + 4, &n, 8);
    w.set_raw("arr", GgufType::kArray, enc);
    expect_error(w.to_bytes(), "cannot fit");
  }
  {
    GgufWriter w;
    std::vector<uint8_t> enc(8, 0xff);  // string of length 2^64-1
    w.set_raw("s", GgufType::kString, enc);
    expect_error(w.to_bytes(), "string length");
  }
  {
    GgufWriter w;
    w.set_raw("b", GgufType::kBool, {2});
    expect_error(w.to_bytes(), "bool");
  }
  {
    GgufWriter w;
    w.set_u32("general.alignment", 48);
    expect_error(w.to_bytes(), "power of two");
  }
  {
    GgufWriter w;
    w.set_u32("a", 1);
    auto b = w.to_bytes();
    // Duplicate the key/value pair by bumping the count and appending a copy.
    std::vector<uint8_t> kv(b.begin() + 24, b.begin() + 24 + 8 + 1 + 4 + 4);
    b.resize(24);
    b.insert(b.end(), kv.begin(), kv.end());
    b.insert(b.end(), kv.begin(), kv.end());
    b[16] = 2;
    expect_error(b, "duplicate metadata key 'a'");
  }
}

TEST(GgufReader, MisalignedTensorDataRefused) {
  // general.alignment = 1 lets a writer put f32 data at an odd offset; views would then be
  // misaligned for typed loads, so the reader refuses such files.
  for (const std::string key : {"k", "kk", "kkk", "kkkk"}) {
    GgufWriter w(1);
    w.set_u8(key, 1);
    float a[2] = {1, 2};
    ASSERT_TRUE(w.add_tensor("a", DType::kF32, {2}, a, 8).is_ok());
    auto b = w.to_bytes();
    auto h = GgufFile::from_memory(b.data(), b.size(), "mem.gguf", {.header_only = true});
    ASSERT_TRUE(h.is_ok());
    auto g = GgufFile::from_memory(b.data(), b.size(), "mem.gguf");
    const bool aligned = (reinterpret_cast<uintptr_t>(b.data()) + (*h)->data_offset()) % 4 == 0;
    EXPECT_EQ(g.is_ok(), aligned) << key;
    if (!aligned) EXPECT_NE(g.status().message().find("aligned"), std::string::npos);
  }
}

TEST(GgufReader, NestedArrays) {
  GgufWriter w;
  std::vector<uint8_t> enc;
  auto put = [&](auto v) {
    const size_t at = enc.size();
    enc.resize(at + sizeof(v));
    std::memcpy(enc.data() + at, &v, sizeof(v));
  };
  put(static_cast<uint32_t>(GgufType::kArray));
  put(uint64_t{2});
  for (int k = 0; k < 2; ++k) {
    put(static_cast<uint32_t>(GgufType::kU16));
    put(uint64_t{2});
    put(uint16_t(k));
    put(uint16_t(k + 10));
  }
  w.set_raw("nested", GgufType::kArray, enc);
  auto b = w.to_bytes();
  auto g = GgufFile::from_memory(b.data(), b.size(), "mem.gguf");
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const GgufValue* v = (*g)->find("nested");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->items.size(), 2u);
  EXPECT_EQ(v->items[1].elem_as_f64(1), 11.0);
  EXPECT_EQ(v->to_string(), "[array × 2: [u16 × 2: 0, 10], [u16 × 2: 1, 11]]");
}

}  // namespace
}  // namespace lk
