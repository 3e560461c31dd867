#include "eval/generators.h"

#include <gtest/gtest.h>

#include "eval/rng.h"
#include "eval/scoring.h"

#include <set>
#include "eval/task_spec.h"

namespace lk::eval {
namespace {

EvalSample make(const std::string& spec, int64_t length, int64_t index, uint64_t seed = 7) {
  static ApproxTokenCounter counter;
  auto t = parse_task_spec(spec);
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  auto s = generate_sample(*t, {seed, length, index, &counter});
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? *s : EvalSample{};
}

TEST(Generators, EveryFamilyFitsTheLengthAndHoldsItsAnswers) {
  ApproxTokenCounter counter;
  for (const auto& fam : generator_families()) {
    for (int64_t len : {1024, 3000}) {
      EvalSample s = make(fam.name, len, 1);
      ASSERT_FALSE(s.rounds.empty()) << fam.name;
      const int64_t n = counter.count(round_text(s, 0));
      EXPECT_LE(n, len) << fam.name;
      EXPECT_GT(n, len * 9 / 10) << fam.name << " filled only " << n << " of " << len;
      for (const auto& r : s.rounds)
        for (const auto& a : r.answers) {
          // Every answer is retrievable from the context (common_words: as list entries).
          EXPECT_NE(s.context.find(a), std::string::npos) << fam.name << " answer " << a;
        }
      EXPECT_EQ(s.id, fmt::format("{}/{}/1", fam.name, len));
    }
  }
}

TEST(Generators, SameSeedSameBytesOtherSeedOtherTask) {
  for (const auto& fam : generator_families()) {
    EvalSample a = make(fam.name, 2048, 3, 11), b = make(fam.name, 2048, 3, 11);
    EvalSample c = make(fam.name, 2048, 3, 12), d = make(fam.name, 2048, 4, 11);
    EXPECT_EQ(a.context, b.context) << fam.name;
    ASSERT_EQ(a.rounds.size(), b.rounds.size());
    for (size_t i = 0; i < a.rounds.size(); ++i) {
      EXPECT_EQ(a.rounds[i].question, b.rounds[i].question);
      EXPECT_EQ(a.rounds[i].answers, b.rounds[i].answers);
    }
    EXPECT_NE(a.context, c.context) << fam.name;
    EXPECT_NE(a.context, d.context) << fam.name;
  }
}

// A pinned fingerprint: generator output must not drift silently across platforms or edits
// (the training data relies on eval tasks staying fixed). Update deliberately if templates change.
TEST(Generators, PinnedPasskeyFingerprint) {
  EvalSample s = make("passkey", 512, 0, 0);
  EXPECT_EQ(s.rounds[0].answers[0], "51235");
  EXPECT_EQ(fmt::format("{:016x}", hash_string(s.context)), "2e648b37b0b8ea65");
  EXPECT_EQ(s.depth, 0.0);
  EXPECT_EQ(s.context.rfind("A passkey is hidden", 0), 0u);
  // The needle sits at depth 0: right after the preamble.
  EXPECT_NE(s.context.find("\n\nThe passkey is " + s.rounds[0].answers[0]), std::string::npos);
}

TEST(Generators, NeedleDepthFollowsTheGrid) {
  std::vector<double> pos;
  for (int i = 0; i < 5; ++i) {
    EvalSample s = make("niah_single:depths=0,0.25,0.5,0.75,1", 4096, i);
    EXPECT_DOUBLE_EQ(s.depth, i * 0.25);
    size_t at = s.context.find("The special code for ");
    ASSERT_NE(at, std::string::npos);
    pos.push_back(static_cast<double>(at) / static_cast<double>(s.context.size()));
  }
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(pos[i], i * 0.25, 0.05) << i;
}

TEST(Generators, MultiKeyHasDistractorsAndUuidKeys) {
  EvalSample s = make("niah_multikey:keys=6:key=uuids:value=words", 4096, 0);
  size_t count = 0, at = 0;
  while ((at = s.context.find("The special code for ", at)) != std::string::npos) ++count, ++at;
  EXPECT_EQ(count, 6u);
  EXPECT_EQ(s.rounds[0].question.size(),
            std::string("What is the special code for  in the text above?").size() + 36);
}

TEST(Generators, MultiRoundAsksEveryNeedleOnce) {
  EvalSample s = make("multi_round:rounds=4", 4096, 2);
  ASSERT_EQ(s.rounds.size(), 4u);
  std::set<std::string> answers;
  for (const auto& r : s.rounds) answers.insert(r.answers[0]);
  EXPECT_EQ(answers.size(), 4u);
}

TEST(Generators, CommonWordsAreTheMostFrequent) {
  EvalSample s = make("common_words:common=5:freq_common=12:freq_rare=2", 2048, 0);
  for (const auto& w : s.rounds[0].answers) {
    size_t count = 0, at = 0;
    while ((at = s.context.find(". " + w + " ", at)) != std::string::npos) ++count, ++at;
    EXPECT_GE(count, 11u) << w;  // the last entry has no trailing space
  }
  EXPECT_EQ(s.score_mode, ScoreMode::kAll);
}

TEST(Generators, TooShortLengthIsAClearError) {
  ApproxTokenCounter counter;
  auto t = parse_task_spec("niah_single");
  auto s = generate_sample(*t, {0, 20, 0, &counter});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("too short"), std::string::npos) << s.status().message();
}

TEST(TaskSpec, SplitKeepsParameterLists) {
  auto v = split_task_list("passkey,niah_single:depths=0,0.5,1,data/x.jsonl,common_words:common=3");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[1], "niah_single:depths=0,0.5,1");
  EXPECT_EQ(v[2], "data/x.jsonl");
}

TEST(TaskSpec, ErrorsNameTheValidChoices) {
  auto a = parse_task_spec("needle");
  ASSERT_FALSE(a.is_ok());
  EXPECT_NE(a.status().message().find("niah_single"), std::string::npos);
  auto b = parse_task_spec("passkey:keys=3");
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().message().find("valid: depths"), std::string::npos) << b.status().message();
  auto c = parse_task_spec("niah_single:depths=0,2");
  ASSERT_FALSE(c.is_ok());
  auto d = parse_task_spec("niah_single:value=colours");
  ASSERT_FALSE(d.is_ok());
  EXPECT_NE(d.status().message().find("uuids"), std::string::npos);
  auto e = parse_task_spec("niah_single:value=words:depths=0.5");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->label, "niah_single:depths=0.5:value=words");
}

TEST(Scoring, NormalisesAndMatches) {
  EXPECT_EQ(normalize_answer("  The  Passkey\n is 123. "), "the passkey is 123");
  EXPECT_EQ(score_prediction(ScoreMode::kContains, " 71432.\nMore", {"71432"}), 1.0);
  EXPECT_EQ(score_prediction(ScoreMode::kContains, "7143", {"71432"}), 0.0);
  EXPECT_EQ(score_prediction(ScoreMode::kExact, "\"Paris.\"", {"paris", "Lyon"}), 1.0);
  EXPECT_EQ(score_prediction(ScoreMode::kExact, "Paris, France", {"paris"}), 0.0);
  EXPECT_DOUBLE_EQ(score_prediction(ScoreMode::kAll, "AB and CD", {"ab", "cd", "ef", "gh"}), 0.5);
  EXPECT_EQ(score_prediction(ScoreMode::kContains, "anything", {}), 0.0);
}

}  // namespace
}  // namespace lk::eval
