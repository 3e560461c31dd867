"""Training data never contains the evaluation generators' templates or filler.

Reads the string literals of src/eval/generators.cpp and the word lists of
src/eval/filler.cpp, generates training samples with tools/train/data.py (grammar filler and
natural-text filler), and fails if any evaluation template phrase or filler item occurs in
them, or if the two filler grammars share a word-list entry. Needs only the standard library.
"""

import os
import random
import re
import sys

SRC = os.environ.get("LONGKV_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tools", "train"))

import data  # noqa: E402


def literals(path):
    text = open(path, encoding="utf-8").read()
    return [m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text)]


def main():
    gen = literals(os.path.join(SRC, "src", "eval", "generators.cpp"))
    fill = literals(os.path.join(SRC, "src", "eval", "filler.cpp"))
    # Template phrases: literals of three or more words (stripped of format escapes).
    phrases = set()
    for s in gen:
        s = s.replace("\\n", " ").strip()
        for part in re.split(r"\{\}", s):
            part = part.strip(" .:;,?")
            if len(part.split()) >= 3:
                phrases.add(part)
    assert len(phrases) >= 10, f"found only {len(phrases)} template phrases in generators.cpp"
    filler_items = {s for s in fill if re.fullmatch(r"[A-Za-z ,.']+", s) and len(s) >= 4}
    assert len(filler_items) >= 50, f"found only {len(filler_items)} filler items"

    # Word lists of the two grammars must not share entries.
    ours = set(data._G_SUBJ + data._G_VERB + data._G_ADJ + data._G_OBJ + data._G_TAIL + data._G_ASIDE)
    shared = ours & filler_items
    assert not shared, f"training grammar shares filler entries with src/eval: {sorted(shared)}"

    # Natural-text filler is represented by a few fixed sentences (the corpus itself is
    # machine-specific); the grammar and every template are exercised for real.
    natural = ["Return the number of items in the container.",
               "This licence applies to any program or other work which contains a notice."]
    bad = []
    n = 0
    for fam, (fn, _) in data.FAMILIES.items():
        for i in range(60):
            rng = data.rng_for(99, 0, hash((fam, i)) % 100000)
            filler = data.Filler(rng, natural if i % 2 else [])
            task = fn(rng, filler)
            text = task.build(40)
            for r in task.rounds:
                text += "\n\n" + r.question + "\n" + r.lead + r.answer
            low = text.lower()
            for p in phrases:
                if p.lower() in low:
                    bad.append((fam, p))
            for f in filler_items:
                if len(f.split()) >= 2 and f.lower() in low:
                    bad.append((fam, f))
            n += 1
    assert not bad, f"evaluation phrases found in training samples: {sorted(set(bad))[:20]}"
    # The seed namespaces differ.
    assert data.TRAIN_SEED_NAMESPACE != "longkv-eval-v1"
    src = open(os.path.join(SRC, "src", "eval", "generators.h"), encoding="utf-8").read()
    assert f'"{data.TRAIN_SEED_NAMESPACE}"' not in src
    print(f"ok: {n} training samples, {len(phrases)} template phrases, {len(filler_items)} filler items")


if __name__ == "__main__":
    main()
