// Hugging Face tokenizer.json (+ tokenizer_config.json). Supported: model "BPE" in its two
// common shapes — byte-level (ByteLevel pre-tokenizer, optional Split regex, optional NFC;
// GPT-2, Llama 3, Qwen) and SentencePiece-style (byte_fallback, "▁" via a Prepend+Replace
// normalizer or a Metaspace pre-tokenizer; Llama 2, Mistral). Anything else is a clear
// kUnsupported naming the component, never an approximation.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/tokenizer/loaders.h"
#include "model/tokenizer/pretokenizer.h"

namespace lk {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
constexpr const char* kMeta = "\xE2\x96\x81";

Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string();
}

// Flattens a "Sequence" component into its parts (normalizers / pretokenizers / decoders).
std::vector<json> flatten(const json& j, const char* list_key) {
  std::vector<json> out;
  if (j.is_null()) return out;
  if (type_of(j) == "Sequence" && j.contains(list_key) && j[list_key].is_array()) {
    for (const auto& x : j[list_key]) {
      auto sub = flatten(x, list_key);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else {
    out.push_back(j);
  }
  return out;
}

// The name of a special token in tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string token_name(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return {};
}

Status parse_body(const json& root, const std::string& name, TokenizerData& d) {
  if (!root.is_object()) return corrupt("{}: top level is not a JSON object", name);
  if (!root.contains("model") || !root["model"].is_object())
    return corrupt("{}: missing object 'model'", name);
  const json& model = root["model"];
  const std::string mtype = type_of(model);
  if (mtype != "BPE")
    return unsupported("{}: model.type '{}' is not supported (valid: BPE)", name, mtype);
  if (!model.contains("vocab") || !model["vocab"].is_object())
    return corrupt("{}: model.vocab must be an object of piece -> id", name);

  // Vocabulary (model vocab + added tokens), indexed by id.
  int64_t n = 0;
  for (const auto& [piece, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 24))
      return corrupt("{}: model.vocab['{}'] is not an id in 0..2^24", name, piece);
    n = std::max<int64_t>(n, id.get<int64_t>() + 1);
  }
  const json empty_arr = json::array();
  const json& added = root.contains("added_tokens") && root["added_tokens"].is_array()
                          ? root["added_tokens"]
                          : empty_arr;
  for (const auto& a : added) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
        !a.contains("content") || !a["content"].is_string())
      return corrupt("{}: added_tokens entries need integer 'id' and string 'content'", name);
    const int64_t id = a["id"].get<int64_t>();
    if (id < 0 || id > (1 << 24)) return corrupt("{}: added token id {} out of range", name, id);
    n = std::max<int64_t>(n, id + 1);
  }
  if (n == 0) return corrupt("{}: empty vocabulary", name);
  d.pieces.assign(n, {});
  d.attrs.assign(n, TokenAttr::kUnused);
  for (const auto& [piece, id] : model["vocab"].items()) {
    d.pieces[id.get<int64_t>()] = piece;
    d.attrs[id.get<int64_t>()] = TokenAttr::kNormal;
  }
  for (const auto& a : added) {
    AddedToken t;
    t.id = static_cast<int32_t>(a["id"].get<int64_t>());
    t.content = a["content"].get<std::string>();
    if (t.content.empty()) return corrupt("{}: added token {} has empty content", name, t.id);
    t.special = a.value("special", true);
    t.lstrip = a.value("lstrip", false);
    t.rstrip = a.value("rstrip", false);
    d.pieces[t.id] = t.content;
    d.attrs[t.id] = t.special ? TokenAttr::kControl : TokenAttr::kUserDefined;
    d.added.push_back(std::move(t));
  }
  for (int64_t i = 0; i < n; ++i)
    if (d.attrs[i] == TokenAttr::kUnused && d.pieces[i].empty())
      d.pieces[i] = fmt::format("[unused id {}]", i);

  // Merges: "a b" strings (older files) or ["a", "b"] pairs.
  if (model.contains("merges") && model["merges"].is_array()) {
    d.merges.reserve(model["merges"].size());
    for (const auto& m : model["merges"]) {
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) return corrupt("{}: merge '{}' has no space", name, s);
        d.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        d.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        return corrupt("{}: model.merges entries must be \"a b\" or [\"a\", \"b\"]", name);
      }
    }
  }
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    return unsupported("{}: BPE dropout is not supported (deterministic tokenization only)", name);
  if (!model.value("continuing_subword_prefix", json()).is_null() &&
      !model["continuing_subword_prefix"].get<std::string>().empty())
    return unsupported("{}: continuing_subword_prefix is not supported", name);
  d.ignore_merges = model.value("ignore_merges", false);
  d.byte_fallback = model.value("byte_fallback", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const auto it = model["vocab"].find(model["unk_token"].get<std::string>());
    if (it != model["vocab"].end()) {
      d.unk_id = it->get<int32_t>();
      d.attrs[d.unk_id] = TokenAttr::kUnknown;
    }
  }

  // Normalizer and pre-tokenizer decide the family.
  bool byte_level = false, meta_space = false, prepend_meta = false;
  for (const auto& c : flatten(root.value("normalizer", json()), "normalizers")) {
    const std::string t = type_of(c);
    if (t == "NFC") {
      d.normalize_nfc = true;
    } else if (t == "Prepend" && c.value("prepend", "") == kMeta) {
      prepend_meta = true;
    } else if (t == "Replace" && c.contains("pattern") && c["pattern"].is_object() &&
               c["pattern"].value("String", "") == " " && c.value("content", "") == kMeta) {
      meta_space = true;
    } else {
      return unsupported(
          "{}: normalizer '{}' is not supported (valid: NFC, Prepend \"▁\", "
          "Replace \" \" -> \"▁\")",
          name, c.dump().substr(0, 120));
    }
  }
  std::vector<std::string> regexes;
  for (const auto& c : flatten(root.value("pre_tokenizer", json()), "pretokenizers")) {
    const std::string t = type_of(c);
    if (t == "ByteLevel") {
      byte_level = true;
      if (c.value("add_prefix_space", false))
        return unsupported("{}: ByteLevel add_prefix_space=true is not supported", name);
      if (c.value("use_regex", true)) regexes = tok::pretokenizer_regexes(PreTokenizer::kGpt2);
    } else if (t == "Split") {
      if (!c.contains("pattern") || !c["pattern"].is_object() || !c["pattern"].contains("Regex"))
        return unsupported("{}: Split pre-tokenizer without a Regex pattern", name);
      if (c.value("behavior", "") != "Isolated" || c.value("invert", false))
        return unsupported(
            "{}: Split behavior '{}' (invert {}) is not supported (valid: "
            "Isolated)",
            name, c.value("behavior", ""), c.value("invert", false));
      regexes.push_back(c["pattern"]["Regex"].get<std::string>());
    } else if (t == "Metaspace") {
      meta_space = true;
      if (c.value("split", false))
        return unsupported("{}: Metaspace split=true is not supported", name);
      const std::string scheme =
          c.value("prepend_scheme", c.value("add_prefix_space", true) ? "always" : "never");
      if (scheme == "first")
        d.space_prefix = SpacePrefix::kFirst;
      else if (scheme == "always")
        d.space_prefix = SpacePrefix::kEveryFragment;
      else
        d.space_prefix = SpacePrefix::kNone;
      prepend_meta = d.space_prefix != SpacePrefix::kNone;
      d.no_prefix_before_space = true;
    } else {
      return unsupported(
          "{}: pre-tokenizer '{}' is not supported (valid: ByteLevel, Split, "
          "Metaspace)",
          name, t);
    }
  }
  if (byte_level) {
    if (meta_space || prepend_meta)
      return unsupported("{}: byte-level BPE with a SentencePiece normalizer", name);
    d.kind = TokenizerKind::kByteBpe;
    d.pre = PreTokenizer::kCustom;
    for (PreTokenizer p : {PreTokenizer::kGpt2, PreTokenizer::kLlama3, PreTokenizer::kQwen2})
      if (regexes == tok::pretokenizer_regexes(p)) d.pre = p;
    if (regexes.empty()) d.pre = PreTokenizer::kNone;
    if (d.pre == PreTokenizer::kCustom) d.pre_regexes = regexes;
  } else if (meta_space) {
    d.kind = TokenizerKind::kSpm;
    if (!regexes.empty()) return unsupported("{}: Split with a SentencePiece vocabulary", name);
    if (d.normalize_nfc) return unsupported("{}: NFC with a SentencePiece vocabulary", name);
    if (type_of(root.value("pre_tokenizer", json())) != "Metaspace" &&
        flatten(root.value("pre_tokenizer", json()), "pretokenizers").empty())
      d.space_prefix = prepend_meta ? SpacePrefix::kEveryFragment : SpacePrefix::kNone;
    if (d.merges.empty()) return corrupt("{}: SentencePiece-style BPE without merges", name);
    // The decoder strips the dummy prefix's space (Strip start=1, or Metaspace).
    d.strip_leading_space_on_decode = false;
    for (const auto& c : flatten(root.value("decoder", json()), "decoders")) {
      const std::string t = type_of(c);
      if ((t == "Strip" && c.value("start", 0) >= 1) ||
          (t == "Metaspace" && c.value("prepend_scheme", "always") != "never"))
        d.strip_leading_space_on_decode = true;
    }
  } else {
    return unsupported(
        "{}: BPE without a ByteLevel pre-tokenizer or a \"▁\" normalizer is not "
        "supported (valid: byte-level BPE, SentencePiece-style BPE)",
        name);
  }

  // BOS added by the post-processor (TemplateProcessing starting with a special token).
  d.add_bos = false;
  const json& post = root.value("post_processor", json());
  for (const auto& c : flatten(post, "processors")) {
    if (type_of(c) == "TemplateProcessing" && c.contains("single") && c["single"].is_array() &&
        !c["single"].empty() && c["single"][0].contains("SpecialToken")) {
      const std::string bos = c["single"][0]["SpecialToken"].value("id", "");
      for (const auto& a : d.added)
        if (a.content == bos) d.bos_id = a.id;
      d.add_bos = d.bos_id >= 0;
    }
  }
  return Status::ok();
}

}  // namespace

Result<TokenizerData> parse_hf_tokenizer_json(std::string_view text, const std::string& name) {
  TokenizerData d;
  d.source = "tokenizer.json";
  try {
    const json root = json::parse(text);
    LK_RETURN_IF_ERROR(parse_body(root, name, d));
  } catch (const json::exception& e) {
    return corrupt("{}: invalid tokenizer.json: {}", name, e.what());
  }
  return d;
}

Status apply_hf_tokenizer_config(std::string_view text, const std::string& name, TokenizerData& d) {
  try {
    const json c = json::parse(text);
    if (!c.is_object()) return corrupt("{}: top level is not a JSON object", name);
    const auto find_id = [&](const std::string& content) -> int32_t {
      for (size_t i = 0; i < d.pieces.size(); ++i)
        if (d.pieces[i] == content) return static_cast<int32_t>(i);
      return -1;
    };
    if (c.contains("bos_token")) {
      const std::string b = token_name(c["bos_token"]);
      d.bos_id = b.empty() ? -1 : find_id(b);
    }
    if (c.contains("eos_token")) {
      const std::string e = token_name(c["eos_token"]);
      if (!e.empty()) d.eos_id = find_id(e);
    }
    if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean())
      d.add_bos = c["add_bos_token"].get<bool>() && d.bos_id >= 0;
    if (c.contains("chat_template")) {
      const json& t = c["chat_template"];
      if (t.is_string()) {
        d.chat_template = t.get<std::string>();
      } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, ...]
        for (const auto& e : t)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template"))
            d.chat_template = e["template"].get<std::string>();
      }
    }
  } catch (const json::exception& e) {
    return corrupt("{}: invalid tokenizer_config.json: {}", name, e.what());
  }
  return Status::ok();
}

Result<TokenizerData> read_hf_tokenizer(const std::string& path_or_dir) {
  std::error_code ec;
  fs::path json_path = path_or_dir;
  if (fs::is_directory(json_path, ec)) json_path /= "tokenizer.json";
  if (!fs::exists(json_path, ec)) return not_found("'{}' has no tokenizer.json", path_or_dir);
  LK_ASSIGN_OR_RETURN(std::string text, read_file(json_path.string()));
  LK_ASSIGN_OR_RETURN(TokenizerData d, parse_hf_tokenizer_json(text, json_path.string()));
  const fs::path cfg = json_path.parent_path() / "tokenizer_config.json";
  if (fs::exists(cfg, ec)) {
    LK_ASSIGN_OR_RETURN(std::string ctext, read_file(cfg.string()));
    LK_RETURN_IF_ERROR(apply_hf_tokenizer_config(ctext, cfg.string(), d));
  }
  return d;
}

}  // namespace lk
