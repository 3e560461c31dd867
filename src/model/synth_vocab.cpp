#include "model/synth_vocab.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "model/synth_corpus.h"

namespace lk {

namespace {

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

// The pre-tokenizer patterns of Llama 3 and Qwen2 (digits in groups of up to 3 vs single).
constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

constexpr const char* kLlama3Template =
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif "
    "%}";
constexpr const char* kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";

// Words of the corpus as the pre-tokenizer would cut ASCII text: an optional single
// non-letter (here: a space) followed by a run of letters. Merges learned inside these
// pieces never cross a pre-token boundary of either regex.
std::map<std::string, int> corpus_words() {
  std::map<std::string, int> words;
  const std::string text = kSynthCorpus;
  size_t i = 0;
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  while (i < text.size()) {
    size_t start = i;
    if (text[i] == ' ' && i + 1 < text.size() && is_letter(text[i + 1])) ++i;
    if (i < text.size() && is_letter(text[i])) {
      while (i < text.size() && is_letter(text[i])) ++i;
      ++words[text.substr(start, i - start)];
    } else {
      i = start + 1;
    }
  }
  return words;
}

// Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: the
// earliest-created left then right token), at most max_merges times, while a pair occurs
// at least twice.
void learn_merges(int max_merges, std::vector<std::string>* tokens,
                  std::vector<std::string>* merges) {
  std::vector<std::pair<std::vector<int>, int>> words;  // token ids, count
  for (const auto& [w, n] : corpus_words()) {
    std::vector<int> ids;
    for (unsigned char c : w) ids.push_back(c);
    words.emplace_back(std::move(ids), n);
  }
  std::map<std::string, int> id_of;
  for (size_t k = 0; k < tokens->size(); ++k) id_of[(*tokens)[k]] = static_cast<int>(k);
  while (static_cast<int>(merges->size()) < max_merges) {
    std::map<std::pair<int, int>, int> counts;
    for (const auto& [ids, n] : words)
      for (size_t k = 0; k + 1 < ids.size(); ++k) counts[{ids[k], ids[k + 1]}] += n;
    std::pair<int, int> best{-1, -1};
    int best_n = 1;
    for (const auto& [pair, n] : counts)
      if (n > best_n) {  // map order makes ties go to the smallest (left, right) ids
        best_n = n;
        best = pair;
      }
    if (best.first < 0) break;
    const std::string merged = (*tokens)[best.first] + (*tokens)[best.second];
    int new_id;
    if (auto it = id_of.find(merged); it != id_of.end()) {
      new_id = it->second;
    } else {
      new_id = static_cast<int>(tokens->size());
      tokens->push_back(merged);
      id_of[merged] = new_id;
    }
    merges->push_back((*tokens)[best.first] + " " + (*tokens)[best.second]);
    for (auto& [ids, n] : words) {
      std::vector<int> out;
      for (size_t k = 0; k < ids.size(); ++k) {
        if (k + 1 < ids.size() && ids[k] == best.first && ids[k + 1] == best.second) {
          out.push_back(new_id);
          ++k;
        } else {
          out.push_back(ids[k]);
        }
      }
      ids = std::move(out);
    }
  }
}

}  // namespace

std::string byte_to_unicode(uint8_t b) {
  // Printable Latin-1 bytes stand for themselves; the others map to 256, 257, ... in order.
  auto printable = [](int c) {
    return (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff);
  };
  if (printable(b)) return utf8(b);
  int n = 0;
  for (int c = 0; c < b; ++c)
    if (!printable(c)) ++n;
  return utf8(256 + n);
}

Result<SynthVocab> synth_vocab_make(int vocab_size, SynthTokenizerStyle style) {
  SynthVocab v;
  v.style = style;
  std::vector<std::string> specials;
  if (style == SynthTokenizerStyle::kLlama3) {
    specials = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>"};
    v.pre = "llama-bpe";
    v.regex = kLlama3Regex;
    v.chat_template = kLlama3Template;
    v.add_bos = true;
  } else {
    specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    v.pre = "qwen2";
    v.regex = kQwen2Regex;
    v.chat_template = kChatMlTemplate;
  }
  const int min_size = 256 + static_cast<int>(specials.size());
  if (vocab_size < min_size)
    return invalid_argument(
        "vocab_size {} is too small for a byte-level BPE vocabulary (need at "
        "least {}: 256 bytes + {} special tokens)",
        vocab_size, min_size, specials.size());
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_to_unicode(static_cast<uint8_t>(b)));
  // GPT-2 form of the corpus words: learn on bytes mapped to their stand-ins.
  learn_merges(vocab_size - min_size, &v.tokens, &v.merges);
  v.n_merges_learned = static_cast<int>(v.merges.size());
  v.types.assign(v.tokens.size(), SynthTokenType::kNormal);
  const int n_fill =
      vocab_size - static_cast<int>(v.tokens.size()) - static_cast<int>(specials.size());
  for (int k = 0; k < n_fill; ++k) {
    v.tokens.push_back("<|unused_" + std::to_string(k) + "|>");
    v.types.push_back(SynthTokenType::kUnused);
  }
  const int first_special = static_cast<int>(v.tokens.size());
  for (const auto& s : specials) {
    v.tokens.push_back(s);
    v.types.push_back(SynthTokenType::kControl);
  }
  if (style == SynthTokenizerStyle::kLlama3) {
    v.bos_id = first_special;      // <|begin_of_text|>
    v.eos_id = first_special + 4;  // <|eot_id|>: ends a chat turn
    v.pad_id = first_special + 1;  // <|end_of_text|>
  } else {
    v.eos_id = first_special + 2;  // <|im_end|>
    v.pad_id = first_special;      // <|endoftext|>
  }
  return v;
}

void synth_vocab_to_gguf(const SynthVocab& v, GgufWriter* w) {
  w->set_str("tokenizer.ggml.model", "gpt2");
  w->set_str("tokenizer.ggml.pre", v.pre);
  w->set_str_arr("tokenizer.ggml.tokens", v.tokens);
  std::vector<int32_t> types;
  for (auto t : v.types) types.push_back(static_cast<int32_t>(t));
  w->set_i32_arr("tokenizer.ggml.token_type", types);
  w->set_str_arr("tokenizer.ggml.merges", v.merges);
  if (v.bos_id >= 0) w->set_u32("tokenizer.ggml.bos_token_id", v.bos_id);
  w->set_u32("tokenizer.ggml.eos_token_id", v.eos_id);
  if (v.pad_id >= 0) w->set_u32("tokenizer.ggml.padding_token_id", v.pad_id);
  w->set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  w->set_bool("tokenizer.ggml.add_eos_token", false);
  w->set_str("tokenizer.chat_template", v.chat_template);
}

std::string synth_vocab_tokenizer_json(const SynthVocab& v) {
  using json = nlohmann::ordered_json;
  json added = json::array();
  json vocab = json::object();
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (v.types[id] == SynthTokenType::kControl) {
      added.push_back({{"id", id},
                       {"content", v.tokens[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
    } else {
      vocab[v.tokens[id]] = id;
    }
  }
  const bool llama3 = v.style == SynthTokenizerStyle::kLlama3;
  json byte_level = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", false},
                     {"use_regex", false}};
  json post = byte_level;
  if (llama3) {
    const std::string bos = v.tokens[v.bos_id];
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"pair", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                  {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
                                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
            {"special_tokens",
             {{bos, {{"id", bos}, {"ids", json::array({v.bos_id})}, {"tokens", {bos}}}}}}};
  }
  json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"},
                                        {"pattern", {{"Regex", v.regex}}},
                                        {"behavior", "Isolated"},
                                        {"invert", false}},
                                       byte_level})}}},
      {"post_processor", post},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", llama3},  // as Llama 3's own tokenizer.json (and llama.cpp's llama-bpe)
        {"vocab", vocab},
        {"merges", v.merges}}}};
  return j.dump(1);
}

std::string synth_vocab_tokenizer_config_json(const SynthVocab& v, int64_t max_context) {
  using json = nlohmann::ordered_json;
  json dec = json::object();
  for (size_t id = 0; id < v.tokens.size(); ++id)
    if (v.types[id] == SynthTokenType::kControl)
      dec[std::to_string(id)] = {{"content", v.tokens[id]}, {"lstrip", false},
                                 {"normalized", false},     {"rstrip", false},
                                 {"single_word", false},    {"special", true}};
  json j = {{"added_tokens_decoder", dec},
            {"bos_token", v.bos_id >= 0 ? json(v.tokens[v.bos_id]) : json(nullptr)},
            {"eos_token", v.tokens[v.eos_id]},
            {"pad_token", v.pad_id >= 0 ? json(v.tokens[v.pad_id]) : json(nullptr)},
            {"add_bos_token", v.add_bos},
            {"add_eos_token", false},
            {"clean_up_tokenization_spaces", false},
            {"model_max_length", max_context},
            {"tokenizer_class", "PreTrainedTokenizerFast"},
            {"chat_template", v.chat_template}};
  return j.dump(1);
}

}  // namespace lk
