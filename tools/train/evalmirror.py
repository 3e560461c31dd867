"""Held-out quick evaluation: passkey and niah_single in the EVALUATION templates.

This reproduces the prompt shapes of src/eval/generators.cpp (passkey, niah_single with word
keys and number values) and its filler grammar (src/eval/filler.cpp), so the training run can
watch the accuracy that `longkv eval` will measure. It is never used to make training data
(data.py has its own templates); its random numbers come from a third namespace
("longkv-trainwatch-v1"), so items differ from both training and `longkv eval` items.

Scoring is greedy exact match done in one forward pass: the greedy continuation starts with
the answer iff the argmax at every answer position (given the answer prefix) is the answer
token -- the same as decoding greedily and comparing.
"""

from __future__ import annotations

import random

import torch

_SUBJ = ["the old gardener", "a travelling merchant", "the village council", "every careful reader",
         "the young engineer", "a quiet neighbour", "the river pilot", "most historians",
         "the museum guide", "a patient teacher", "the night baker", "our small committee",
         "the lighthouse keeper", "a curious student", "the weaver", "many farmers",
         "the mapmaker", "a retired sailor", "the choir", "the city archivist"]
_VERB = ["described", "remembered", "questioned", "repaired", "admired", "studied", "painted",
         "measured", "collected", "ignored", "explained", "celebrated", "planted", "followed",
         "improved", "noticed", "carried", "compared"]
_ADJ = ["narrow", "ancient", "bright", "heavy", "gentle", "crooked", "silent", "distant", "golden",
        "broken", "patient", "wooden", "hidden", "lively", "modest", "curious", "frozen", "humble",
        "tangled", "generous"]
_OBJ = ["bridge", "orchard", "letter", "harbour", "clock", "garden", "lantern", "market", "library",
        "mill", "path", "window", "boat", "meadow", "tower", "kettle", "festival", "fence", "well",
        "chapel", "quarry", "blanket", "compass", "stairway"]
_ADV = ["slowly", "with great care", "before dawn", "every autumn", "without complaint",
        "in the rain", "after supper", "once again", "for many years", "in silence",
        "at the end of the season", "more often than expected"]
_CLAUSE = ["because the roads were long", "although nobody asked them to",
           "while the wind came down from the hills", "since the old ways were fading",
           "so that the children would remember", "as the evening light turned grey",
           "when the market closed early", "until the snow melted from the roofs"]
_REFL = ["It is worth asking why such small things matter so much.",
         "Some say this habit shaped the character of the whole valley.",
         "Nobody wrote it down, yet everyone seemed to know it.",
         "In the long run, patience proved more useful than speed.",
         "The lesson, if there was one, was about attention.",
         "Stories like this travel further than anyone expects.",
         "Much of what we call tradition began in moments like these.",
         "Whether it was wise is a question for another day."]


class _Filler:
    def __init__(self, rng):
        self.rng, self.cache, self.in_par = rng, [], 0

    def _make(self):
        r = self.rng
        cap = lambda s: s[0].upper() + s[1:]
        k = r.randrange(4)
        if k == 0:
            s = f"{cap(r.choice(_SUBJ))} {r.choice(_VERB)} the {r.choice(_ADJ)} {r.choice(_OBJ)} {r.choice(_ADV)}."
        elif k == 1:
            s = f"{cap(r.choice(_SUBJ))} {r.choice(_VERB)} the {r.choice(_OBJ)} {r.choice(_CLAUSE)}."
        elif k == 2:
            s = f"The {r.choice(_ADJ)} {r.choice(_OBJ)} was {r.choice(_VERB)} by {r.choice(_SUBJ)} {r.choice(_ADV)}, {r.choice(_CLAUSE)}."
        else:
            s = r.choice(_REFL)
        self.in_par += 1
        if self.in_par >= 4 + r.randrange(5):
            self.in_par = 0
            return s + "\n\n"
        return s + " "

    def sentence(self, i):
        while len(self.cache) <= i:
            self.cache.append(self._make())
        return self.cache[i]


def _pseudo_word(rng, syl):
    w = "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(syl))
    return w + rng.choice("bdfgklmnprstvz")


def _haystack(filler, n, depth, needle):
    slot = int(depth * n + 0.5)
    out = []
    for i in range(n + 1):
        if i == slot:
            out.append(needle + " ")
        if i < n:
            out.append(filler.sentence(i))
    return "".join(out).rstrip()


_CODE_PRE = ("Some special codes are hidden in the long text below. Read all of it and remember "
             "them; you will be asked about one of them at the end.\n\n")


def make_item(task: str, rng: random.Random, depth: float):
    """(build(n) -> prompt text, answer text)"""
    filler = _Filler(rng)
    if task == "passkey":
        v = str(rng.randint(10000, 99999))
        pre = ("A passkey is hidden somewhere in the long text below. Read all of it and remember "
               "the passkey; you will be asked for it at the end.\n\n")
        needle = f"The passkey is {v}. Remember it: {v} is the passkey."
        tail = "\n\nWhat is the passkey hidden in the text above?\nAnswer: The passkey is"
    else:
        key = _pseudo_word(rng, 2) + "-" + _pseudo_word(rng, 2)
        v = str(rng.randint(1000000, 9999999))
        pre = _CODE_PRE
        needle = f"The special code for {key} is {v}."
        tail = (f"\n\nWhat is the special code for {key} in the text above?\n"
                f"Answer: The special code for {key} is")
    return (lambda n: pre + _haystack(filler, n, depth, needle) + tail), " " + v


def encode_item(tok, bos, task, length, index, seed=0):
    rng = random.Random(f"longkv-trainwatch-v1/{seed}/{task}/{length}/{index}")
    depth = [0.0, 0.25, 0.5, 0.75, 1.0][index % 5]
    build, ans = make_item(task, rng, depth)
    enc = lambda s: tok.encode(s, add_special_tokens=False).ids
    budget = length - 1
    c0, c8 = len(enc(build(0))), len(enc(build(8)))
    per = max(1.0, (c8 - c0) / 8)
    n = max(0, int((budget - c0) / per))
    ids = enc(build(n))
    while len(ids) > budget and n > 0:
        n = max(0, n - max(1, int((len(ids) - budget) / per + 0.999)))
        ids = enc(build(n))
    return [bos] + ids, enc(ans)


@torch.no_grad()
def accuracy(model, tok, task, length, n, device, seed=0, autocast=None):
    bos = tok.token_to_id("<|bos|>")
    correct = 0
    for i in range(n):
        prompt, ans = encode_item(tok, bos, task, length, i, seed)
        ids = torch.tensor([prompt + ans], device=device)
        if autocast:
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16):
                logits = model(ids)
        else:
            logits = model(ids)
        pred = logits[0, len(prompt) - 1: len(prompt) - 1 + len(ans)].argmax(-1).tolist()
        correct += int(pred == ans)
    return correct / n
