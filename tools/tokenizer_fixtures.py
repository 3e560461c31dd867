#!/usr/bin/env python3
"""Reference token ids from Hugging Face `tokenizers` for longkv's tokenizer tests.

Writes tests/model/data/tokenizer_ref.json: a varied corpus (unicode, CJK, emoji, whitespace
runs, digits, code, mixed scripts) and, for each real vocabulary in ../shared/models, the ids
HF produces (no BOS/EOS added) plus a few inputs containing special tokens. The C++ test
tests/model/tokenizer_fixture_model_test.cpp compares longkv's ids to these, so CI needs no
Python; tests/python/test_tokenizer_hf.py re-runs HF live on extra random inputs.

  python3 tools/tokenizer_fixtures.py [--shared ../shared/models] [--out PATH]

Needs: tokenizers, transformers + sentencepiece + protobuf (Llama 2 from its .model), gguf.
"""
import argparse
import json
import os
import sys
import tempfile

CORPUS = [
    "Hello world",
    " Hello world",
    "Hello, World! How are you today?",
    "I'm here. You're there. They've gone. We'll see. He'd know. IT'S DON'T I'M",
    "'s at the start and 'S uppercase 'Ll 'VE",
    "   leading and trailing spaces   ",
    "a  b   c    d     e",
    "tabs\tand\t\ttabs\t",
    "line one\nline two\n\nline four\n\n\n",
    "windows\r\nline\r\nendings\r\n",
    "\n\n   \n\t \n",
    "     ",
    " ",
    "\t",
    "\n",
    "digits 0 12 123 1234 12345 123456 1234567 3.14159 1,000,000 -42 1e-5 0x1F",
    "2024-01-15T12:34:56Z phone +1 (555) 123-4567",
    "Ünïcödé àéîõü ñ ß ø å æ œ Ç",
    "naïve café résumé — “quotes” ‘single’ … «guillemets»",
    "e\u0301 combining accent vs \u00e9 precomposed, A\u030a Å, n\u0303",
    "Ωμέγα αβγδε Ελληνικά, Русский текст, Українська",
    "中文测试：你好，世界！这是一个句子。",
    "日本語のテキスト、ひらがなとカタカナ。漢字も。",
    "한국어 텍스트입니다. 안녕하세요!",
    "العربية نص تجريبي ١٢٣",
    "हिन्दी पाठ परीक्षण ४५६",
    "ไทยภาษา ทดสอบ",
    "emoji 🤗 😀😃😄 👍🏽 🇫🇷🇯🇵 👨‍👩‍👧‍👦 ❤️ ✅",
    "mixed: English中文العربية😀Русский123abc",
    "nbsp\u00a0space ideographic\u3000space zero\u200bwidth thin\u2009space",
    "def foo(x, y=2):\n    return x ** y  # power\n\nprint(foo(3))\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    '{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}',
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "!!!!!!!! ???? ...... ---- ==== ____ ****",
    "<html><body class=\"x\">Hi &amp; bye</body></html>",
    "$ ls -la | grep foo > out.txt 2>&1",
    "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
    "x2y3z4 100000 3.14159",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "a",
    "ied 4 ½ months",
    "Führer",
]

# Inputs with special tokens, per vocabulary (HF parses added tokens by default).
SPECIAL_CASES = {
    "llama3": [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "text<|eot_id|>more <|reserved_special_token_5|> end",
    ],
    "qwen3": [
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        "a<|endoftext|>b <tool_call>x</tool_call>",
    ],
    "stories260K": ["<s>Once upon</s> a time", "Lily<s>"],
    "llama2": ["<s>Hello</s> world", "a</s>4567890 <unk>x"],
}


def hf_llama2(shared):
    """Llama 2 as HF tokenizers runs it from a legacy-style tokenizer.json (as published with
    meta-llama/Llama-2-7b-hf): BPE over the SentencePiece vocabulary, merges ordered by the
    merged piece's score, byte fallback, Prepend("▁") + Replace(" ", "▁") normalizer.
    (transformers 5's converter orders merges by id and uses Metaspace "first", which departs
    from SentencePiece on whitespace runs.) Cross-checked against SentencePiece itself."""
    import sentencepiece as spm
    from tokenizers import AddedToken, Tokenizer, models, normalizers, decoders
    sp = spm.SentencePieceProcessor(model_file=f"{shared}/tokenizers/llama2-tokenizer.model")
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    vocab = {p: i for i, p in enumerate(pieces)}
    merges = []
    for i, p in enumerate(pieces):
        if sp.is_control(i) or sp.is_byte(i) or sp.is_unknown(i):
            continue
        for k in range(1, len(p)):
            a, b = p[:k], p[k:]
            if a in vocab and b in vocab:
                merges.append((-sp.get_score(i), vocab[a], vocab[b], a, b))
    merges.sort()
    tok = Tokenizer(models.BPE(vocab, [(m[3], m[4]) for m in merges], unk_token="<unk>",
                               fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                           normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    for t in CORPUS:
        assert tok.encode(t, add_special_tokens=False).ids == sp.encode(t), t
    # Llama 2's tokenizer.json lists its control pieces as special added tokens.
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False)
                            for p in ("<unk>", "<s>", "</s>")])
    return tok


def hf_gpt2_from_gguf(path):
    """HF byte-level BPE built from the GGUF's own vocabulary and merges."""
    import gguf
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    r = gguf.GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "models"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "model", "data",
                                                  "tokenizer_ref.json"))
    a = ap.parse_args()
    from tokenizers import Tokenizer
    import tokenizers
    s = a.shared
    vocabs = {
        # name: (path longkv loads, relative to shared; HF tokenizer)
        "llama3": ("tokenizers/llama3", Tokenizer.from_file(f"{s}/tokenizers/llama3/tokenizer.json")),
        "qwen3": ("tokenizers/qwen3", Tokenizer.from_file(f"{s}/tokenizers/qwen3/tokenizer.json")),
        "stories260K": ("stories260K-hf", Tokenizer.from_file(f"{s}/stories260K-hf/tokenizer.json")),
        "llama2": ("tokenizers/ggml-vocab-llama-spm.gguf", hf_llama2(s)),
        "gpt2": ("tokenizers/ggml-vocab-gpt-2.gguf", hf_gpt2_from_gguf(f"{s}/tokenizers/ggml-vocab-gpt-2.gguf")),
    }
    out = {"generator": f"tools/tokenizer_fixtures.py (tokenizers {tokenizers.__version__})",
           "corpus": CORPUS, "vocabs": {}}
    for name, (path, tok) in vocabs.items():
        ids = [tok.encode(t, add_special_tokens=False).ids for t in CORPUS]
        special = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids}
                   for t in SPECIAL_CASES.get(name, [])]
        out["vocabs"][name] = {"path": path, "ids": ids, "special": special}
        print(f"{name}: {sum(map(len, ids))} ids", file=sys.stderr)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
