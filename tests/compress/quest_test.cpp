// Quest: page bounds, upper-bound scores, the pages read.
#include <gtest/gtest.h>

#include "compress/quest.h"

namespace lk::compress {
namespace {

// A view of f32 runs (pages) from keys [page][tokens][D].
struct Pages {
  std::vector<std::vector<float>> k;
  std::vector<std::vector<int32_t>> pos;
  KvHeadView view;
  Pages(const std::vector<std::vector<std::vector<float>>>& keys) {
    int32_t p = 0;
    for (const auto& page : keys) {
      k.emplace_back();
      pos.emplace_back();
      for (const auto& t : page) {
        k.back().insert(k.back().end(), t.begin(), t.end());
        pos.back().push_back(p++);
      }
    }
    for (size_t i = 0; i < k.size(); ++i) {
      KvRun r;
      r.format = KvFormat::kF32;
      r.n_tokens = static_cast<int32_t>(pos[i].size());
      r.k = k[i].data();
      r.v = k[i].data();
      r.positions = pos[i].data();
      view.runs.push_back(r);
    }
  }
};

TEST(Quest, BoundsAndScores) {
  Pages p({{{1, -2}, {3, 0}}, {{-1, 5}, {0, 1}}});
  auto b = quest_page_bounds(p.view, 2);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].min, (std::vector<float>{1, -2}));
  EXPECT_EQ(b[0].max, (std::vector<float>{3, 0}));
  const float q[2] = {1, -1};
  // max(1*1, 1*3) + max(-1*-2, -1*0) = 3 + 2.
  EXPECT_FLOAT_EQ(quest_page_score(b[0], q, 2), 5.0f);
  // The bound is never below the true max of q.k over the page.
  EXPECT_GE(quest_page_score(b[0], q, 2), 1 * 1 + -1 * -2);
}

TEST(Quest, ReadsTopPagesAndTheNewest) {
  // Four pages of 2 tokens, D = 2. Query (1, 0) favours large first channels.
  Pages p({{{0, 0}, {0, 0}}, {{9, 0}, {1, 0}}, {{2, 0}, {3, 0}}, {{-5, 0}, {-4, 0}}});
  auto b = quest_page_bounds(p.view, 2);
  const float q[2] = {1, 0};
  // 4 tokens: the newest page (3) + the best other (1: bound 9).
  EXPECT_EQ(quest_select_pages(p.view, b, q, 1, 2, 4), (std::vector<int>{1, 3}));
  // 6 tokens: + page 2 (bound 3).
  EXPECT_EQ(quest_select_pages(p.view, b, q, 1, 2, 6), (std::vector<int>{1, 2, 3}));
  KvHeadView r = quest_restrict(p.view, {1, 3});
  EXPECT_EQ(r.n_tokens(), 4);
  EXPECT_EQ(r.runs[0].positions[0], 2);
  // GQA: the group's bounds add up; a second head preferring page 0's zero over negatives
  // does not change the choice here, but a strong one does.
  const float q2[4] = {1, 0, -10, 0};  // head 1 strongly prefers small first channels
  EXPECT_EQ(quest_select_pages(p.view, b, q2, 2, 2, 4), (std::vector<int>{0, 3}));
}

}  // namespace
}  // namespace lk::compress
