#include "eval/filler.h"

#include <set>

namespace lk::eval {

namespace {

// Word lists: plain English, no digits, no hyphens (needles use both).
constexpr const char* kSubjects[] = {
    "the old gardener",      "a travelling merchant", "the village council", "every careful reader",
    "the young engineer",    "a quiet neighbour",     "the river pilot",     "most historians",
    "the museum guide",      "a patient teacher",     "the night baker",     "our small committee",
    "the lighthouse keeper", "a curious student",     "the weaver",          "many farmers",
    "the mapmaker",          "a retired sailor",      "the choir",           "the city archivist"};
constexpr const char* kVerbs[] = {"described", "remembered", "questioned", "repaired",  "admired",
                                  "studied",   "painted",    "measured",   "collected", "ignored",
                                  "explained", "celebrated", "planted",    "followed",  "improved",
                                  "noticed",   "carried",    "compared"};
constexpr const char* kAdjectives[] = {"narrow",  "ancient", "bright",  "heavy",   "gentle",
                                       "crooked", "silent",  "distant", "golden",  "broken",
                                       "patient", "wooden",  "hidden",  "lively",  "modest",
                                       "curious", "frozen",  "humble",  "tangled", "generous"};
constexpr const char* kObjects[] = {
    "bridge",   "orchard", "letter", "harbour", "clock",  "garden",  "lantern", "market",
    "library",  "mill",    "path",   "window",  "boat",   "meadow",  "tower",   "kettle",
    "festival", "fence",   "well",   "chapel",  "quarry", "blanket", "compass", "stairway"};
constexpr const char* kAdverbs[] = {"slowly",
                                    "with great care",
                                    "before dawn",
                                    "every autumn",
                                    "without complaint",
                                    "in the rain",
                                    "after supper",
                                    "once again",
                                    "for many years",
                                    "in silence",
                                    "at the end of the season",
                                    "more often than expected"};
constexpr const char* kClauses[] = {"because the roads were long",
                                    "although nobody asked them to",
                                    "while the wind came down from the hills",
                                    "since the old ways were fading",
                                    "so that the children would remember",
                                    "as the evening light turned grey",
                                    "when the market closed early",
                                    "until the snow melted from the roofs"};
constexpr const char* kReflections[] = {
    "It is worth asking why such small things matter so much.",
    "Some say this habit shaped the character of the whole valley.",
    "Nobody wrote it down, yet everyone seemed to know it.",
    "In the long run, patience proved more useful than speed.",
    "The lesson, if there was one, was about attention.",
    "Stories like this travel further than anyone expects.",
    "Much of what we call tradition began in moments like these.",
    "Whether it was wise is a question for another day."};

template <size_t N>
const char* pick(Rng& rng, const char* const (&list)[N]) {
  return list[rng.below(N)];
}

std::string capitalise(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

}  // namespace

std::string FillerStream::make_sentence() {
  std::string s;
  switch (rng_.below(4)) {
    case 0:
      s = capitalise(pick(rng_, kSubjects)) + " " + pick(rng_, kVerbs) + " the " +
          pick(rng_, kAdjectives) + " " + pick(rng_, kObjects) + " " + pick(rng_, kAdverbs) + ".";
      break;
    case 1:
      s = capitalise(pick(rng_, kSubjects)) + " " + pick(rng_, kVerbs) + " the " +
          pick(rng_, kObjects) + " " + pick(rng_, kClauses) + ".";
      break;
    case 2:
      s = std::string("The ") + pick(rng_, kAdjectives) + " " + pick(rng_, kObjects) + " was " +
          pick(rng_, kVerbs) + " by " + pick(rng_, kSubjects) + " " + pick(rng_, kAdverbs) + ", " +
          pick(rng_, kClauses) + ".";
      break;
    default:
      s = pick(rng_, kReflections);
      break;
  }
  // Paragraphs of 4–8 sentences, like an essay.
  if (++in_paragraph_ >= 4 + static_cast<int>(rng_.below(5))) {
    in_paragraph_ = 0;
    s += "\n\n";
  } else {
    s += " ";
  }
  return s;
}

const std::string& FillerStream::sentence(size_t i) {
  while (sentences_.size() <= i) sentences_.push_back(make_sentence());
  return sentences_[i];
}

std::string pseudo_word(Rng& rng, int syllables) {
  static constexpr char kCons[] = "bdfgklmnprstvz";
  static constexpr char kVowels[] = "aeiou";
  std::string w;
  for (int i = 0; i < syllables; ++i) {
    w += kCons[rng.below(sizeof(kCons) - 1)];
    w += kVowels[rng.below(sizeof(kVowels) - 1)];
  }
  w += kCons[rng.below(sizeof(kCons) - 1)];
  return w;
}

std::vector<std::string> distinct_pseudo_words(Rng& rng, size_t n) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  out.reserve(n);
  while (out.size() < n) {
    std::string w = pseudo_word(rng, 2 + static_cast<int>(rng.below(2)));
    if (seen.insert(w).second) out.push_back(std::move(w));
  }
  return out;
}

}  // namespace lk::eval
