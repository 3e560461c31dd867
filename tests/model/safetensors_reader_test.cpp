// safetensors reader: round trips through the writer (single and sharded), every header
// problem reported with the file and the field, and the Checkpoint front end.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "model/safetensors_reader.h"
#include "model/safetensors_writer.h"
#include "test_util.h"

namespace lk {
namespace {

std::vector<uint8_t> small_file() {
  SafetensorsWriter w;
  std::vector<float> a(6);
  for (int k = 0; k < 6; ++k) a[k] = static_cast<float>(k);
  EXPECT_TRUE(w.add_tensor("a", DType::kF32, {2, 3}, a.data(), 24).is_ok());
  std::vector<uint16_t> b(4, 0x3c00);
  EXPECT_TRUE(w.add_tensor("b", DType::kF16, {4}, b.data(), 8).is_ok());
  EXPECT_TRUE(w.add_tensor("c", DType::kBF16, {1, 1, 2, 2}, b.data(), 8).is_ok());
  w.set_metadata("format", "pt");
  return w.to_bytes();
}

TEST(Safetensors, RoundTrip) {
  auto bytes = small_file();
  EXPECT_EQ((bytes[0] | bytes[1] << 8) % 8, 0);  // header padded to 8
  auto s = SafetensorsFile::from_memory(bytes.data(), bytes.size(), "m.safetensors");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->entries().size(), 3u);
  EXPECT_EQ((*s)->metadata().at("format"), "pt");
  auto a = (*s)->tensor("a");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->n_dims, 2);
  EXPECT_EQ(a->ne[0], 3);  // reversed: [2, 3] -> ne = {3, 2}
  EXPECT_EQ(a->ne[1], 2);
  float x;
  std::memcpy(&x, a->row(1) + 4, 4);
  EXPECT_EQ(x, 4.f);
  auto c = (*s)->tensor("c");
  EXPECT_EQ(c->dtype, DType::kBF16);
  EXPECT_EQ(c->ne[0], 2);
  EXPECT_EQ(c->ne[3], 1);
  EXPECT_EQ((*s)->tensor("zz").status().code(), StatusCode::kNotFound);
}

std::vector<uint8_t> with_header(const std::string& json, size_t data_bytes) {
  const uint64_t n = json.size();
  std::vector<uint8_t> b(8 + n + data_bytes, 0);
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, json.data(), n);
  return b;
}

void expect_error(const std::vector<uint8_t>& b, const std::string& needle,
                  StatusCode code = StatusCode::kCorrupt) {
  auto s = SafetensorsFile::from_memory(b.data(), b.size(), "bad.safetensors");
  ASSERT_FALSE(s.is_ok()) << needle;
  EXPECT_EQ(s.status().code(), code) << s.status().message();
  EXPECT_NE(s.status().message().find("bad.safetensors"), std::string::npos);
  EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
}

TEST(Safetensors, HeaderErrors) {
  expect_error({1, 2, 3}, "truncated");
  auto empty = with_header("{}", 0);
  EXPECT_TRUE(SafetensorsFile::from_memory(empty.data(), empty.size(), "e").is_ok());
}

TEST(Safetensors, EveryFieldValidated) {
  auto ok = with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  EXPECT_TRUE(SafetensorsFile::from_memory(ok.data(), ok.size(), "x").is_ok());
  expect_error(with_header("{not json", 0), "not valid JSON");
  expect_error(with_header("[1]", 0), "JSON object");
  expect_error(with_header(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", 8), "'dtype'");
  expect_error(with_header(R"({"t":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", 8),
               "unknown dtype 'Q9'");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
               "'shape'");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               "needs 12");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
               "outside");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", 8),
               "data_offsets");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           12),
               "overlap");
  expect_error(with_header(R"({"__metadata__":{"a":1}})", 0), "__metadata__");
  expect_error(with_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,8],)"
                           R"("data_offsets":[0,8]}})",
                           8),
               "overflow");
  std::vector<uint8_t> huge(16, 0);
  huge[6] = 1;  // header length 2^48
  expect_error(huge, "100 MB");
  auto trunc = ok;
  trunc.resize(20);
  expect_error(trunc, "truncated");
}

TEST(Safetensors, UnsupportedDtypeListedButRefused) {
  auto b = with_header(R"({"t":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", 16);
  auto s = SafetensorsFile::from_memory(b.data(), b.size(), "x.safetensors");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->entries().size(), 1u);
  auto t = (*s)->tensor("t");
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(t.status().message().find("I64"), std::string::npos);
}

void write_text(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

const char* kConfig =
    R"({"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,)"
    R"("num_attention_heads":2,"vocab_size":4})";

TEST(Safetensors, ShardedIndexAndCheckpoint) {
  auto dir = test::temp_dir("st_sharded");
  SafetensorsWriter w1, w2;
  std::vector<float> x(8, 1.f), y(4, 2.f);
  ASSERT_TRUE(w1.add_tensor("x", DType::kF32, {2, 4}, x.data(), 32).is_ok());
  ASSERT_TRUE(w2.add_tensor("y", DType::kF32, {4}, y.data(), 16).is_ok());
  ASSERT_TRUE(w1.write_file((dir / "model-00001-of-00002.safetensors").string()).is_ok());
  ASSERT_TRUE(w2.write_file((dir / "model-00002-of-00002.safetensors").string()).is_ok());
  write_text(dir / "model.safetensors.index.json",
             R"({"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors",)"
             R"("y":"model-00002-of-00002.safetensors"}})");
  write_text(dir / "config.json", kConfig);
  auto s = SafetensorsFile::open_dir(dir.string());
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->n_shards(), 2u);
  float v;
  std::memcpy(&v, (*s)->tensor("y")->data, 4);
  EXPECT_EQ(v, 2.f);

  auto c = Checkpoint::open(dir.string());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ((*c)->format(), CheckpointFormat::kSafetensors);
  EXPECT_EQ((*c)->spec().d_model, 8);
  EXPECT_EQ((*c)->tensors().size(), 2u);
  EXPECT_NE((*c)->find("x"), nullptr);
  EXPECT_EQ((*c)->tensor_map().size(), 2u);

  // A weight_map entry pointing at the wrong shard, or missing tensors, is reported.
  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map":{"x":"model-00002-of-00002.safetensors",)"
             R"("y":"model-00002-of-00002.safetensors"}})");
  auto bad = SafetensorsFile::open_dir(dir.string());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'x'"), std::string::npos) << bad.status().message();
  write_text(dir / "model.safetensors.index.json", R"({"weight_map":{"x":"../etc/passwd"}})");
  bad = SafetensorsFile::open_dir(dir.string());
  EXPECT_NE(bad.status().message().find("plain file name"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map":{"x":"nope.safetensors"}})");
  bad = SafetensorsFile::open_dir(dir.string());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
}

TEST(Checkpoint, Errors) {
  auto dir = test::temp_dir("ckpt_err");
  auto c = Checkpoint::open((dir / "missing.gguf").string());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  c = Checkpoint::open(dir.string());
  EXPECT_NE(c.status().message().find("config.json"), std::string::npos);
  write_text(dir / "junk.gguf", "this is not gguf at all");
  c = Checkpoint::open((dir / "junk.gguf").string());
  EXPECT_EQ(c.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(c.status().message().find("magic"), std::string::npos);
}

}  // namespace
}  // namespace lk
