#include "eval/jsonl_tasks.h"

#include <gtest/gtest.h>

#include "eval/generators.h"

namespace lk::eval {
namespace {

TEST(JsonlTasks, ParsesBothFormsAndReportsBadLinesByNumber) {
  const std::string text =
      R"({"id": "q1", "context": "Paris is in France.", "question": "Where is Paris?", "answer": "France"})"
      "\n\n"
      R"({"context": "ctx", "question": "q", "answer": ["a", "b"], "score": "exact"})"
      "\n"
      R"({"context": "ctx", "question": "q"})"
      "\n"
      "not json\n"
      R"({"id": 7, "context": "doc", "rounds": [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": ["a2"], "max_new_tokens": 5}]})"
      "\n"
      R"({"id": "q1", "context": "dup", "question": "q", "answer": "x"})"
      "\n"
      R"({"context": "c", "question": "q", "answer": 3})"
      "\n"
      R"({"context": "c", "rounds": []})"
      "\n"
      R"({"context": "c", "question": "q", "answer": "a", "score": "fuzzy"})";
  JsonlTasks t = parse_task_jsonl(text, "mine");
  ASSERT_EQ(t.samples.size(), 3u);
  EXPECT_EQ(t.samples[0].id, "q1");
  EXPECT_EQ(t.samples[0].task, "mine");
  EXPECT_EQ(t.samples[0].rounds[0].answer_prefix, "Answer:");
  EXPECT_EQ(t.samples[1].id, "line3");
  EXPECT_EQ(t.samples[1].score_mode, ScoreMode::kExact);
  EXPECT_EQ(t.samples[1].rounds[0].answers.size(), 2u);
  EXPECT_EQ(t.samples[2].id, "7");
  ASSERT_EQ(t.samples[2].rounds.size(), 2u);
  EXPECT_EQ(t.samples[2].rounds[1].max_new_tokens, 5);
  EXPECT_EQ(t.samples[2].index, 2);

  ASSERT_EQ(t.errors.size(), 6u);
  EXPECT_EQ(t.errors[0].line, 4);
  EXPECT_NE(t.errors[0].message.find("'answer'"), std::string::npos) << t.errors[0].message;
  EXPECT_EQ(t.errors[1].line, 5);
  EXPECT_NE(t.errors[1].message.find("JSON"), std::string::npos);
  EXPECT_EQ(t.errors[2].line, 7);
  EXPECT_NE(t.errors[2].message.find("duplicate id 'q1'"), std::string::npos);
  EXPECT_EQ(t.errors[3].line, 8);
  EXPECT_EQ(t.errors[4].line, 9);
  EXPECT_EQ(t.errors[5].line, 10);
  EXPECT_NE(t.errors[5].message.find("valid: exact, contains, all"), std::string::npos);
}

TEST(JsonlTasks, GeneratedSamplesRoundTrip) {
  ApproxTokenCounter counter;
  auto spec = parse_task_spec("multi_round:rounds=2");
  auto s = generate_sample(*spec, {3, 600, 1, &counter});
  ASSERT_TRUE(s.is_ok());
  JsonlTasks t = parse_task_jsonl(sample_to_jsonl(*s) + "\n", "x");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].message;
  ASSERT_EQ(t.samples.size(), 1u);
  const EvalSample& b = t.samples[0];
  EXPECT_EQ(b.id, s->id);
  EXPECT_EQ(b.context, s->context);
  EXPECT_EQ(b.length, 600);
  ASSERT_EQ(b.rounds.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b.rounds[i].question, s->rounds[i].question);
    EXPECT_EQ(b.rounds[i].answers, s->rounds[i].answers);
    EXPECT_EQ(b.rounds[i].answer_prefix, s->rounds[i].answer_prefix);
    EXPECT_EQ(b.rounds[i].max_new_tokens, s->rounds[i].max_new_tokens);
    EXPECT_EQ(round_text(b, i), round_text(*s, i));
  }
}

TEST(JsonlTasks, MissingFileIsNotFound) {
  auto r = load_task_jsonl("/nonexistent/tasks.jsonl", "x");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lk::eval
