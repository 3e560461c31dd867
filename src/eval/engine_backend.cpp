#include "eval/engine_backend.h"

#include <filesystem>

#include "compress/dms_model.h"
#include "compress/driver.h"
#include "compress/kv_for_spec.h"
#include "compress/spec.h"
#include "core/timer.h"
#include "engine/forward.h"
#include "engine/model_loader.h"
#include "engine/sampler.h"
#include "kv/kv_manager.h"
#include "model/tokenizer/tokenizer.h"

namespace lk::eval {

namespace fs = std::filesystem;

namespace {

Status check_model_path(const std::string& path) {
  if (path.empty())
    return invalid_argument("-m MODEL is required (a GGUF file or a safetensors directory)");
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("model '{}' does not exist", path);
  return Status::ok();
}

// The model's tokenizer as a TokenCounter (lengths exclude BOS).
class TokenizerCounter final : public TokenCounter {
 public:
  explicit TokenizerCounter(std::shared_ptr<const Tokenizer> tok) : tok_(std::move(tok)) {}
  int64_t count(std::string_view text) const override {
    return static_cast<int64_t>(tok_->encode(text, EncodeOptions{false, false}).size());
  }
  std::string name() const override { return "tokenizer: " + tok_->describe(); }
  const Tokenizer& tokenizer() const { return *tok_; }

 private:
  std::shared_ptr<const Tokenizer> tok_;
};

// The KV storage format of the `full` method, the same rule as `longkv run --kv-format auto`:
// f32 K/V for f32 models, f16 otherwise.
KvFormat full_kv_format(const Model& m) {
  return m.main_dtype() == DType::kF32 ? KvFormat::kF32 : KvFormat::kF16;
}

// ModelRunner over longkv's engine: Forward + the paged KV manager + greedy argmax. `full`
// runs on its own manager in the model's float format (every token kept).
class EngineModelRunner final : public ModelRunner {
 public:
  EngineModelRunner(Model model, std::shared_ptr<const Tokenizer> tok)
      : model_(std::move(model)), counter_(tok), tok_(std::move(tok)) {}

  Status init() {
    const ModelSpec& s = model_.spec;
    if (tok_->vocab_size() > s.vocab_size)
      return invalid_argument("tokenizer has {} tokens but the model's vocabulary is {}",
                              tok_->vocab_size(), s.vocab_size);
    LK_ASSIGN_OR_RETURN(compress::CompressionSpec full, compress::parse_compression_spec("full"));
    LK_ASSIGN_OR_RETURN(
        cache_, compress::kv_manager_for_spec(
                    full, {s.n_layers, s.n_kv_heads, s.head_dim, s.max_context, model_name()},
                    full_kv_format(model_)));
    forward_ = std::make_unique<Forward>(model_, cache_.get());
    active_ = forward_.get();
    LK_ASSIGN_OR_RETURN(dms_, compress::dms_model_load(s, model_.source));
    ctx_.model_path = model_.source;
    ctx_.dms = &dms_;
    // A neuron-form DMS model keeps its decision channel out of attention even uncompressed.
    if (dms_.neuron()) {
      dms_mask_ = std::make_unique<compress::DmsChannelMask>(&dms_);
      forward_->set_observer(dms_mask_.get());
    }
    return Status::ok();
  }

  std::string model_name() const override {
    return model_.spec.name.empty() ? fs::path(model_.source).filename().string()
                                    : model_.spec.name;
  }
  int64_t max_context() const override { return model_.spec.max_context; }
  const TokenCounter& token_counter() const override { return counter_; }

  Status begin(const std::string& method) override {
    cache_->release(seq_);
    if (kv_) kv_->release(seq_);
    ++seq_;
    started_ = false;
    pending_.clear();
    peak_ = read_ = read_tokens_ = 0;
    if (method == "full") {
      active_ = forward_.get();
      return Status::ok();
    }
    return begin_compressed(method);
  }

  Result<FeedResult> feed(const std::string& text) override {
    std::vector<int32_t> ids = pending_;
    pending_.clear();
    std::vector<int32_t> enc = tok_->encode(text, EncodeOptions{!started_, false});
    ids.insert(ids.end(), enc.begin(), enc.end());
    if (ids.empty()) return invalid_argument("nothing to feed");
    started_ = true;
    Timer t;
    if (driver_ && active_ != forward_.get()) driver_->set_phase(compress::Phase::kPrefill);
    LK_RETURN_IF_ERROR(run({ids.data(), ids.size()}));
    LK_RETURN_IF_ERROR(end_prefill());
    return FeedResult{static_cast<int64_t>(ids.size()), t.seconds()};
  }

  Result<DecodeResult> decode(int max_new_tokens, bool stop_at_newline) override {
    DecodeResult r;
    TokenStreamDecoder stream(*tok_);
    Timer t;
    for (int i = 0; i < max_new_tokens; ++i) {
      if (!pending_.empty()) {  // the previous token joins the cache before the next step
        LK_RETURN_IF_ERROR(run(pending_));
        read_ += active_->stats().kv_bytes_read;
        read_tokens_ += 1;
        pending_.clear();
      }
      if (active_cache()->seq_length(seq_) + 1 > max_context()) break;
      const int32_t id = argmax(logits_.data(), static_cast<int>(logits_.size()));
      if (tok_->is_eog(id)) break;
      ++r.tokens;
      pending_ = {id};
      r.text += stream.push(id);
      if (stop_at_newline) {
        size_t nl = r.text.find('\n');
        if (nl != std::string::npos && r.text.find_first_not_of(" \t\r\n") < nl) {
          r.text.resize(nl);
          break;
        }
      }
    }
    r.text += stream.flush();
    r.seconds = t.seconds();
    return r;
  }

  KvStats kv_stats() const override {
    KvStats st;
    st.peak_bytes = peak_;
    st.bytes_read = read_;
    st.decode_tokens = read_tokens_;
    if (compressed()) {
      st.held_bytes = kv_->seq_bytes(seq_) + driver_->side_bytes();
      st.compression = driver_->report().dump();
    } else {
      st.held_bytes = cache_->seq_bytes(seq_);
    }
    return st;
  }

  Result<std::vector<int32_t>> tokenize(const std::string& text) const override {
    return tok_->encode(text, EncodeOptions{true, false});
  }

  Status forced_logits(
      const std::string& method, std::span<const int32_t> tokens, int64_t n_prefix,
      const std::function<void(int64_t, std::span<const float>)>& on_logits) override {
    LK_RETURN_IF_ERROR(begin(method));
    if (n_prefix < 1 || n_prefix >= static_cast<int64_t>(tokens.size()))
      return invalid_argument("forced_logits: prefix {} of {} tokens", n_prefix, tokens.size());
    LK_RETURN_IF_ERROR(run(tokens.subspan(0, static_cast<size_t>(n_prefix))));
    LK_RETURN_IF_ERROR(end_prefill());
    for (size_t i = static_cast<size_t>(n_prefix); i < tokens.size(); ++i) {
      on_logits(static_cast<int64_t>(i), logits_);
      if (i + 1 < tokens.size()) LK_RETURN_IF_ERROR(run(tokens.subspan(i, 1)));
    }
    active_cache()->release(seq_);
    return Status::ok();
  }

 private:
  bool compressed() const { return active_ != forward_.get() && kv_ && driver_; }
  KvCache* active_cache() const {
    return compressed() ? static_cast<KvCache*>(kv_.get()) : cache_.get();
  }

  Status run(std::span<const int32_t> ids) {
    SeqBatch b{seq_, ids, false};
    LK_RETURN_IF_ERROR(active_->forward({&b, 1}, &logits_));
    peak_ = std::max(peak_, compressed() ? kv_->seq_bytes(seq_) + driver_->side_bytes()
                                         : cache_->seq_bytes(seq_));
    return Status::ok();
  }

  // After a prompt (or a later round's input): the compression policy selects what stays.
  Status end_prefill() {
    if (!compressed()) return Status::ok();
    return driver_->end_prefill(seq_);
  }

  // A compressed method: the paged KV manager (in the spec's storage format) with the
  // compression driver as the forward pass's observer (compress/driver.h).
  Status begin_compressed(const std::string& method) {
    LK_ASSIGN_OR_RETURN(compress::CompressionSpec spec, compress::parse_compression_spec(method));
    const ModelSpec& s = model_.spec;
    const KvFormat format = compress::kv_format_for_spec(spec, full_kv_format(model_));
    // The manager is reused only with the same formats (mixed: the same old format too).
    const bool same_old = kv_ && (spec.mixed ? kv_->config().old_format == spec.mixed_old
                                             : !kv_->config().old_format.has_value());
    if (!kv_ || kv_->config().format != format || !same_old) {
      kv_.reset();
      LK_ASSIGN_OR_RETURN(
          kv_, compress::kv_manager_for_spec(
                   spec, {s.n_layers, s.n_kv_heads, s.head_dim, s.max_context, model_name()},
                   full_kv_format(model_)));
    }
    LK_ASSIGN_OR_RETURN(driver_,
                        compress::CompressionDriver::create(spec, kv_.get(), s.n_heads, &ctx_));
    cforward_ = std::make_unique<Forward>(model_, kv_.get());
    cforward_->set_observer(driver_.get());
    active_ = cforward_.get();
    driver_->begin(seq_);
    return Status::ok();
  }

  Model model_;
  compress::DmsModel dms_;  // the model's own DMS decisions (dms_* config keys), if any
  compress::ModelContext ctx_;
  std::unique_ptr<compress::DmsChannelMask> dms_mask_;
  TokenizerCounter counter_;
  std::shared_ptr<const Tokenizer> tok_;
  std::unique_ptr<KvManager> cache_;  // `full`
  std::unique_ptr<Forward> forward_;
  // Compressed methods: paged manager + driver + a Forward observing through the driver.
  std::unique_ptr<KvManager> kv_;
  std::unique_ptr<compress::CompressionDriver> driver_;
  std::unique_ptr<Forward> cforward_;
  Forward* active_ = nullptr;
  SeqId seq_ = 0;
  bool started_ = false;
  std::vector<int32_t> pending_;  // generated, not yet in the cache
  std::vector<float> logits_;     // [vocab] predicting the next token
  int64_t peak_ = 0, read_ = 0, read_tokens_ = 0;
};

Result<std::shared_ptr<const Tokenizer>> open_tokenizer(const std::string& model,
                                                        const std::string& tokenizer) {
  const std::string path = tokenizer.empty() ? model : tokenizer;
  auto tok = load_tokenizer(path);
  if (!tok.is_ok() && tokenizer.empty())
    return tok.status().with_context(fmt::format(
        "no tokenizer found in model '{}' (a llama2.c checkpoint has none: pass --tokenizer FILE)",
        model));
  return tok;
}

}  // namespace

Result<std::unique_ptr<ModelRunner>> open_model_runner(const std::string& path,
                                                       const BackendOptions& opt) {
  LK_RETURN_IF_ERROR(check_model_path(path));
  if (!opt.tokenizer.empty()) {
    std::error_code ec;
    if (!fs::exists(opt.tokenizer, ec))
      return not_found("tokenizer '{}' does not exist", opt.tokenizer);
  }
  LK_ASSIGN_OR_RETURN(Model model, load_model(path));
  if (model.spec.max_context <= 0)
    return invalid_argument("model '{}' does not state its context length", path);
  LK_ASSIGN_OR_RETURN(auto tok, open_tokenizer(path, opt.tokenizer));
  auto runner = std::make_unique<EngineModelRunner>(std::move(model), std::move(tok));
  LK_RETURN_IF_ERROR(runner->init());
  return std::unique_ptr<ModelRunner>(std::move(runner));
}

Result<std::unique_ptr<TokenCounter>> open_token_counter(const std::string& path,
                                                         const std::string& tokenizer) {
  if (tokenizer.empty()) LK_RETURN_IF_ERROR(check_model_path(path));
  LK_ASSIGN_OR_RETURN(auto tok, open_tokenizer(path, tokenizer));
  return std::unique_ptr<TokenCounter>(std::make_unique<TokenizerCounter>(std::move(tok)));
}

}  // namespace lk::eval
