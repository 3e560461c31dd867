// The --kv spec grammar: compositions, budgets, knobs, and the errors users see.
#include <gtest/gtest.h>

#include "compress/spec.h"

namespace lk::compress {
namespace {

TEST(Spec, ComposesTokenFormatAndQuest) {
  auto s = parse_compression_spec("snapkv:0.25+kivi:4+quest:0.5");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->token_method, "snapkv");
  EXPECT_EQ(s->budget.kind, Budget::Kind::kRatio);
  EXPECT_DOUBLE_EQ(s->budget.ratio, 0.25);
  EXPECT_TRUE(s->has_format);
  EXPECT_EQ(s->format, KvFormat::kInt4);
  EXPECT_TRUE(s->quest);
  EXPECT_DOUBLE_EQ(s->quest_budget.ratio, 0.5);
  EXPECT_EQ(s->params.at("window"), 32);
  EXPECT_EQ(s->params.at("kernel"), 7);
  EXPECT_EQ(kv_format_for_spec(*s, KvFormat::kF16), KvFormat::kInt4);
}

TEST(Spec, BudgetsAndKnobs) {
  auto s = parse_compression_spec("h2o:4x:recent=0.25");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_DOUBLE_EQ(s->budget.ratio, 0.25);
  EXPECT_DOUBLE_EQ(s->params.at("recent"), 0.25);
  auto b = parse_compression_spec("streaming:64MiB:sinks=2");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->budget.kind, Budget::Kind::kBytes);
  EXPECT_EQ(b->budget.bytes, 64 << 20);
  EXPECT_EQ(b->params.at("sinks"), 2);
  EXPECT_TRUE(parse_compression_spec("full")->is_full());
  EXPECT_TRUE(parse_compression_spec("int8")->has_format);
  auto d = parse_compression_spec("dms:window=16");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->params.at("window"), 16);
  EXPECT_EQ(parse_budget("1GB")->bytes, 1000000000);
}

void expect_error(const std::string& spec, StatusCode code, const std::string& needle) {
  auto s = parse_compression_spec(spec);
  ASSERT_FALSE(s.is_ok()) << spec;
  EXPECT_EQ(s.status().code(), code) << spec;
  EXPECT_NE(s.status().message().find(needle), std::string::npos)
      << spec << ": " << s.status().message();
}

TEST(Spec, ClearErrors) {
  expect_error("snapvk:0.25", StatusCode::kInvalidArgument,
               "unknown method 'snapvk' (valid: full, streaming, h2o, tova, snapkv");
  expect_error("snapkv:1.5", StatusCode::kInvalidArgument, "must be in (0, 1]");
  expect_error("snapkv:0", StatusCode::kInvalidArgument, "must be in (0, 1]");
  expect_error("snapkv:0.5x", StatusCode::kInvalidArgument, "Nx");
  expect_error("snapkv", StatusCode::kInvalidArgument, "needs a budget");
  expect_error("snapkv:0.25+h2o:0.5", StatusCode::kInvalidArgument, "two token-eviction methods");
  expect_error("int8+kivi:4", StatusCode::kInvalidArgument, "two storage formats");
  expect_error("kivi:3", StatusCode::kInvalidArgument, "kivi:4 or kivi:2");
  expect_error("snapkv:0.25:windw=3", StatusCode::kInvalidArgument, "valid: window, kernel");
  expect_error("snapkv:0.25:window=0", StatusCode::kInvalidArgument, "window must be an integer");
  expect_error("h2o:0.5:recent=2", StatusCode::kInvalidArgument, "in [0, 1]");
  expect_error("full+int8", StatusCode::kInvalidArgument, "cannot be composed");
  expect_error("dms:0.25", StatusCode::kInvalidArgument, "dms takes no budget");
  expect_error("mixed:window=-1", StatusCode::kInvalidArgument, "window must be an integer");
  expect_error("mixed:window=2.5", StatusCode::kInvalidArgument, "window must be an integer");
  expect_error("mixed:old=int3", StatusCode::kInvalidArgument, "(valid: int8, kivi4, kivi2)");
  expect_error("mixed:old=f16", StatusCode::kInvalidArgument, "(valid: int8, kivi4, kivi2)");
  expect_error("mixed:256", StatusCode::kInvalidArgument, "valid: window=N");
  expect_error("mixed:recent=4", StatusCode::kInvalidArgument, "old=int8|kivi4|kivi2");
  expect_error("mixed+int8", StatusCode::kInvalidArgument, "two storage formats");
  expect_error("kivi:4+mixed", StatusCode::kInvalidArgument, "two storage formats");
  expect_error("mixed+mixed", StatusCode::kInvalidArgument, "two storage formats");
  expect_error("snapkv:0.25+mixed+demote", StatusCode::kInvalidArgument, "float caches");
  expect_error("minicache+mixed", StatusCode::kInvalidArgument, "minicache composes only");
  expect_error("quest", StatusCode::kInvalidArgument, "quest needs");
}

TEST(Spec, MixedPrecisionByAge) {
  auto s = parse_compression_spec("mixed");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_TRUE(s->mixed);
  EXPECT_FALSE(s->has_format);
  EXPECT_FALSE(s->is_full());
  EXPECT_EQ(s->mixed_window, 256);
  EXPECT_EQ(s->mixed_old, KvFormat::kInt4);
  // The recent window keeps the cache's full-precision format.
  EXPECT_EQ(kv_format_for_spec(*s, KvFormat::kF32), KvFormat::kF32);
  auto t = parse_compression_spec("snapkv:0.5+mixed:window=64:old=int8+quest:0.5");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->mixed_window, 64);
  EXPECT_EQ(t->mixed_old, KvFormat::kInt8);
  EXPECT_EQ(t->token_method, "snapkv");
  EXPECT_EQ(parse_compression_spec("mixed:old=kivi2:window=0")->mixed_old, KvFormat::kInt2);
  EXPECT_EQ(parse_compression_spec("mixed:old=kivi2:window=0")->mixed_window, 0);
}

TEST(Spec, KvpressDefaultKnobs) {
  auto s = parse_compression_spec("snapkv:0.5:window=64:kernel=5:pool=avg");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->params.at("pool"), 1);
  EXPECT_EQ(parse_compression_spec("snapkv:0.5")->params.at("pool"), 0);
  EXPECT_EQ(parse_compression_spec("tova:0.5:scope=layer")->params.at("scope"), 1);
  EXPECT_EQ(parse_compression_spec("h2o:0.5:score=mean")->params.at("score"), 1);
  EXPECT_EQ(parse_compression_spec("adakv:0.5:pool=max")->params.at("pool"), 0);
  expect_error("snapkv:0.5:pool=median", StatusCode::kInvalidArgument,
               "snapkv:pool must be one of max, avg");
  expect_error("tova:0.5:scope=head", StatusCode::kInvalidArgument, "one of group, layer");
  expect_error("h2o:0.5:score=max", StatusCode::kInvalidArgument, "one of sum, mean");
  expect_error("tova:0.5:window=3", StatusCode::kInvalidArgument, "(valid: scope");
  for (const char* t : {"snapkv:0.5:pool=avg", "tova:0.5:scope=layer", "h2o:0.5:score=mean"})
    EXPECT_TRUE(make_token_policy(*parse_compression_spec(t)).is_ok()) << t;
}

TEST(Spec, MakesPolicies) {
  for (const char* s : {"streaming:0.5", "h2o:0.5", "tova:0.5", "snapkv:0.5", "pyramidkv:0.5",
                        "adakv:0.5", "dms:threshold=0.01"}) {
    auto spec = parse_compression_spec(s);
    ASSERT_TRUE(spec.is_ok()) << s;
    auto p = make_token_policy(*spec);
    ASSERT_TRUE(p.is_ok()) << s;
    EXPECT_EQ((*p)->name(), spec->token_method) << s;
  }
  EXPECT_EQ(make_token_policy(*parse_compression_spec("int8")).value(), nullptr);
}

}  // namespace
}  // namespace lk::compress
