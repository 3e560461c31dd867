// Fuzz target: the user-task JSONL parser must never crash on any bytes, and every sample it
// accepts must export and re-import unchanged in count.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "eval/jsonl_tasks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  lk::eval::JsonlTasks t = lk::eval::parse_task_jsonl(text, "fuzz");
  std::string again;
  bool ascii_ids = true;  // invalid UTF-8 in ids is replaced on export and may then collide
  for (const auto& s : t.samples) {
    if (s.rounds.empty()) std::abort();
    for (unsigned char c : s.id) ascii_ids = ascii_ids && c < 0x80;
    again += lk::eval::sample_to_jsonl(s) + "\n";
  }
  lk::eval::JsonlTasks t2 = lk::eval::parse_task_jsonl(again, "fuzz");
  if (!t2.errors.empty() || (ascii_ids && t2.samples.size() != t.samples.size())) std::abort();
  return 0;
}
