#!/usr/bin/env python3
"""Small tokenizer.json seeds for tests/fuzz/tokenizer_json_fuzz (HF tokenizers writes them).

Trains two tiny BPE tokenizers on a few sentences: byte-level (ByteLevel + a Split regex,
NFC, special tokens) and SentencePiece-style (byte_fallback, Prepend/Replace normalizer), and
writes them to tests/fuzz/corpus/tokenizer_json_fuzz/. Also writes a few text seeds for
tokenizer_encode_fuzz.
"""
import json
import os
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, trainers, Regex

TEXT = ["Hello world! The quick brown fox jumps over the lazy dog.",
        "def f(x):\n    return x * 2  # 123 456", "café 你好 🤗 naïve", "  spaces   and\ttabs\n\n"]
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "tests", "fuzz", "corpus", "tokenizer_json_fuzz")
os.makedirs(out, exist_ok=True)

bl = Tokenizer(models.BPE())
bl.normalizer = normalizers.NFC()
bl.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(r"(?i:'s|'t)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
                         behavior="isolated"),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
bl.decoder = decoders.ByteLevel()
bl.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|end|>", "<|im_start|>"],
                                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
bl.save(os.path.join(out, "byte_level.json"), pretty=False)

sp = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
sp.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
sp.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                decoders.Strip(" ", 1, 0)])
bytes_ = [f"<0x{b:02X}>" for b in range(256)]
sp.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=320, special_tokens=["<unk>", "<s>", "</s>"] + bytes_))
# Byte pieces stay in the vocabulary but are not listed as added tokens (as in Llama 2's file).
j = json.loads(sp.to_str())
j["added_tokens"] = [a for a in j["added_tokens"] if not a["content"].startswith("<0x")]
with open(os.path.join(out, "spm_style.json"), "w") as f:
    json.dump(j, f, ensure_ascii=False, separators=(",", ":"))

enc = os.path.join(here, "..", "tests", "fuzz", "corpus", "tokenizer_encode_fuzz")
os.makedirs(enc, exist_ok=True)
seeds = [t.encode() for t in TEXT] + [b"<|end|>x<|im_start|>", b"\xff\xfe invalid \xc3"]
for i, t in enumerate(seeds):
    with open(os.path.join(enc, f"text{i}.txt"), "wb") as f:
        f.write(t)
print("seeds written")
