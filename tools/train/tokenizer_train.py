"""Trains the byte-level BPE vocabulary (HF `tokenizers`) on the training text.

Pre-tokenizer: the Llama 3 regex as a Split (Isolated) followed by ByteLevel without its own
regex -- the shape longkv's tokenizer.json loader accepts (src/model/tokenizer/hf_loader.cpp).
Specials: <|bos|> (id 0), <|eos|> (id 1), <|pad|> (id 2).

    python3 tools/train/tokenizer_train.py --out models/longkv-tiny --vocab 4096
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
import corpus  # noqa: E402
import data  # noqa: E402

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|bos|>", "<|eos|>", "<|pad|>"]


def synthetic_text(n: int, seed: int) -> list[str]:
    """Task-shaped text without long filler (the filler is natural text anyway)."""
    out = []
    for i in range(n):
        rng = data.rng_for(seed, -1, i)
        fam = rng.choice(list(data.FAMILIES))
        task = data.FAMILIES[fam][0](rng, data.Filler(rng, []))
        s = task.build(3)
        for r in task.rounds:
            s += "\n\n" + r.question + "\n" + r.lead + r.answer
        out.append(s)
    return out


def build(vocab: int, seed: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    texts = corpus.documents() + synthetic_text(20000, seed)
    tok.train_from_iterator(texts, trainer)
    return tok


def save(tok: Tokenizer, out: str, max_len: int) -> None:
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|bos|>",
        "eos_token": "<|eos|>",
        "pad_token": "<|pad|>",
        "add_bos_token": True,
        "add_eos_token": False,
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=8192)
    a = ap.parse_args()
    tok = build(a.vocab, a.seed)
    save(tok, a.out, a.max_len)
    print(f"vocab {tok.get_vocab_size()} -> {a.out}")


if __name__ == "__main__":
    main()
