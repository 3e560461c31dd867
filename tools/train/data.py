"""Training data: synthetic long-context tasks + natural English text.

The task families mirror the evaluation generators' families (src/eval/generators.cpp:
passkey, niah_single / multikey / multivalue / multiquery, variable_tracking, common_words,
multi_round) but share none of their templates, filler grammar, word lists or seeds:

  * every preamble, needle sentence, question and answer lead below is written for training
    only; none of the evaluation sentences ("The passkey is ...", "The special code for ...",
    "VAR X = ...", "Answer: ...", the numbered word list, ...) occurs here
    (tools/train/test_disjoint.py checks this against src/eval);
  * haystack filler is natural text (corpus.py) or this file's own grammar, whose word lists
    are disjoint from src/eval/filler.cpp's;
  * pseudo-words use another alphabet and syllable shape (consonant clusters, 'y', 'w', 'h'),
    variable names are 4 or 6 letters mixed-case with a digit (evaluation: 5 capitals);
  * randomness is Python's ``random.Random`` seeded from ("longkv-train-v1", run seed, worker,
    step), a different generator and namespace from the evaluation's SplitMix64 seeded by
    "longkv-eval-v1".
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

TRAIN_SEED_NAMESPACE = "longkv-train-v1"

# ---- words ---------------------------------------------------------------------------------

_ONSETS = ["b", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n",
           "p", "pl", "qu", "r", "s", "sh", "sk", "st", "t", "th", "tr", "v", "w", "y", "z"]
_NUCLEI = ["a", "e", "i", "o", "u", "y", "ai", "ea", "oo", "ou"]
_CODAS = ["", "", "", "ck", "n", "r", "sh", "x", "m", "lt", "nd", "st"]


def train_word(rng: random.Random, syllables: int) -> str:
    w = "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(syllables))
    return w + rng.choice(_CODAS)


def distinct(rng: random.Random, n: int, make) -> list[str]:
    out, seen = [], set()
    while len(out) < n:
        s = make(rng)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def make_number(rng: random.Random) -> str:
    d = rng.randint(4, 9)
    return str(rng.randint(10 ** (d - 1), 10 ** d - 1))


def make_hex_id(rng: random.Random) -> str:
    if rng.random() < 0.5:  # uuid-shaped
        groups = [8, 4, 4, 4, 12]
    else:
        groups = rng.choice([[6, 6], [4, 4, 4], [10], [5, 5, 5]])
    return "-".join("".join(rng.choice("0123456789abcdef") for _ in range(g)) for g in groups)


def make_value(rng: random.Random, kind: str) -> str:
    if kind == "number":
        return make_number(rng)
    if kind == "hex":
        return make_hex_id(rng)
    return train_word(rng, rng.randint(2, 4))


def make_key(rng: random.Random, kind: str) -> str:
    if kind == "number":
        return make_number(rng)
    if kind == "hex":
        return make_hex_id(rng)
    if rng.random() < 0.5:
        return train_word(rng, 2) + " " + train_word(rng, 1)
    return train_word(rng, rng.randint(2, 3))


def var_name(rng: random.Random) -> str:
    n = rng.choice([4, 6])
    letters = "".join(rng.choice(string.ascii_letters) for _ in range(n - 1))
    return letters[0].upper() + letters[1:] + str(rng.randint(0, 9))


def join_list(items: list[str], rng: random.Random) -> str:
    if len(items) == 1:
        return items[0]
    style = rng.randint(0, 2)
    if style == 0:
        return ", ".join(items[:-1]) + " and " + items[-1]
    if style == 1:
        return "; ".join(items)
    return ", ".join(items)


# ---- filler: this file's own grammar (word lists disjoint from src/eval/filler.cpp) --------

_G_SUBJ = ["the surveyor", "a botanist", "the ferry crew", "two astronomers", "the county clerk",
           "a glassblower", "the orchestra", "several miners", "the beekeeper", "a locksmith",
           "the printer's apprentice", "our cartographer", "the harbourmaster", "a violinist",
           "the geologist", "the postal inspector", "a shepherd", "the radio operator"]
_G_VERB = ["catalogued", "sketched", "polished", "inspected", "rebuilt", "photographed",
           "weighed", "sorted", "translated", "abandoned", "restored", "tested", "mapped",
           "recorded", "sealed", "delivered"]
_G_ADJ = ["copper", "velvet", "rusty", "enormous", "fragile", "northern", "scarlet", "hollow",
          "marble", "damp", "elegant", "cracked", "striped", "forgotten", "sturdy", "tiny"]
_G_OBJ = ["telescope", "barometer", "canal", "greenhouse", "observatory", "railway",
          "violin", "anchor", "thermometer", "pottery", "tapestry", "glacier", "typewriter",
          "aqueduct", "carriage", "sundial", "cellar", "chimney"]
_G_TAIL = ["during the thaw", "on a Tuesday", "under a grey sky", "near the coast",
           "for the third time", "at considerable expense", "by lamplight", "without any help",
           "in the spring of that year", "to everyone's surprise"]
_G_ASIDE = ["Records from that period are incomplete.", "The weather stayed mild all week.",
            "Few people in town paid much attention.", "Prices rose steadily that decade.",
            "Later accounts disagree on the details.", "The committee met again in March.",
            "A short report was filed afterwards.", "Nothing else of note happened."]


def grammar_sentence(rng: random.Random) -> str:
    k = rng.randint(0, 3)
    cap = lambda s: s[0].upper() + s[1:]
    if k == 0:
        return f"{cap(rng.choice(_G_SUBJ))} {rng.choice(_G_VERB)} a {rng.choice(_G_ADJ)} {rng.choice(_G_OBJ)} {rng.choice(_G_TAIL)}."
    if k == 1:
        return f"A {rng.choice(_G_ADJ)} {rng.choice(_G_OBJ)} had been {rng.choice(_G_VERB)} by {rng.choice(_G_SUBJ)}."
    if k == 2:
        return f"{cap(rng.choice(_G_TAIL))}, {rng.choice(_G_SUBJ)} {rng.choice(_G_VERB)} the {rng.choice(_G_OBJ)}."
    return rng.choice(_G_ASIDE)


class Filler:
    """An endless sentence stream: a run of consecutive natural sentences, or grammar."""

    def __init__(self, rng: random.Random, natural: list[str]):
        self.rng = rng
        self.natural = natural
        self.use_natural = bool(natural) and rng.random() < 0.6
        self.pos = rng.randrange(len(natural)) if natural else 0
        self.cache: list[str] = []

    def sentence(self, i: int) -> str:
        while len(self.cache) <= i:
            if self.use_natural:
                s = self.natural[self.pos % len(self.natural)]
                self.pos += 1
            else:
                s = grammar_sentence(self.rng)
            sep = "\n\n" if self.rng.random() < 0.15 else " "
            self.cache.append(s + sep)
        return self.cache[i]


def haystack(filler: Filler, n: int, needles: list[tuple[float, str]]) -> str:
    slots = sorted(((int(d * n + 0.5), i) for i, (d, _) in enumerate(needles)))
    out, k = [], 0
    for i in range(n + 1):
        while k < len(slots) and slots[k][0] == i:
            out.append(needles[slots[k][1]][1] + " ")
            k += 1
        if i < n:
            out.append(filler.sentence(i))
    return "".join(out).rstrip()


# ---- task families (training templates) ----------------------------------------------------

@dataclass
class Round:
    question: str  # "\n"-free question line
    lead: str      # answer lead ending right before the answer (no trailing space)
    answer: str    # starts with a space


@dataclass
class Task:
    family: str
    build: object  # n -> context string (n = filler units)
    rounds: list[Round] = field(default_factory=list)


_LEADS = ["Reply:", "Response:", "Result:", "A:", "Output:", "Solution:"]
_SECRET_NOUNS = ["secret number", "access pin", "vault combination", "magic number",
                 "lock code", "hidden figure", "entry number", "door code", "safe combination",
                 "pass number", "security token", "unlock number"]


def _depth(rng):
    return rng.random() if rng.random() < 0.8 else rng.choice([0.0, 1.0])


def task_secret(rng, filler) -> Task:
    noun = rng.choice(_SECRET_NOUNS)
    v = make_number(rng) if rng.random() < 0.85 else make_hex_id(rng)
    needle = rng.choice([
        f"Note that the {noun} is {v}.",
        f"The {noun} is {v}. Keep {v} in mind.",
        f"Important: the {noun} is {v}, and only {v}.",
        f"(The {noun} is {v}.)",
        f"Write this down: the {noun} is {v}.",
    ])
    pre = rng.choice([
        f"Somewhere in the following document there is a {noun}. Find it.\n\n",
        f"Read the passage and look for the {noun}.\n\n",
        "",
        f"The text below contains one {noun} among many unrelated sentences.\n\n",
    ])
    q = rng.choice([f"Which {noun} appears in the document?", f"Tell me the {noun}.",
                    f"What was the {noun} mentioned earlier?", f"Recall the {noun}."])
    lead = rng.choice([f"{rng.choice(_LEADS)} the {noun} is", f"The {noun} is",
                       f"{rng.choice(_LEADS)} It is"])
    d = _depth(rng)
    return Task("secret", lambda n: pre + haystack(filler, n, [(d, needle)]),
                [Round(q, lead, f" {v}.")])


def _kv_needle(rng, key, val, style):
    return [f"The value of {key} is {val}.", f"{key} maps to {val}.",
            f"Entry {key}: {val}.", f"Remember that {key} corresponds to {val}.",
            f"The number assigned to {key} is {val}."][style]


def _kv_lead(key, style):
    return [f"The value of {key} is", f"{key} maps to", f"Entry {key}:",
            f"{key} corresponds to", f"The number assigned to {key} is"][style]


def task_kv(rng, filler) -> Task:
    """niah_single / niah_multikey analogue: n_keys needles, one asked."""
    kk, vk = rng.choice(["word", "word", "number", "hex"]), rng.choice(["number", "number", "word", "hex"])
    n = rng.choice([1, 1, 2, 3, 4, 6, 8])
    keys = distinct(rng, n, lambda r: make_key(r, kk))
    vals = distinct(rng, n, lambda r: make_value(r, vk))
    style = rng.randrange(5)
    needles = [(_depth(rng), _kv_needle(rng, k, v, style)) for k, v in zip(keys, vals)]
    pre = rng.choice(["A few records are scattered through the following text.\n\n", "",
                      "Keep track of the entries mentioned in this document.\n\n"])
    q = rng.choice([f"Look up {keys[0]}.", f"What does {keys[0]} map to?",
                    f"Give the value recorded for {keys[0]}."])
    lead = rng.choice(_LEADS) + " " + _kv_lead(keys[0], style)
    return Task("kv", lambda m: pre + haystack(filler, m, needles), [Round(q, lead, f" {vals[0]}.")])


def task_kv_multivalue(rng, filler) -> Task:
    kk, vk = rng.choice(["word", "number", "hex"]), rng.choice(["number", "word"])
    key = make_key(rng, kk)
    vals = distinct(rng, rng.randint(2, 5), lambda r: make_value(r, vk))
    depths = sorted(_depth(rng) for _ in vals)
    needles = [(d, f"One value filed under {key} is {v}.") for d, v in zip(depths, vals)]
    q = f"List every value filed under {key}."
    lead = f"{rng.choice(_LEADS)} the values filed under {key} are"
    return Task("kv_multivalue", lambda m: haystack(filler, m, needles),
                [Round(q, lead, " " + join_list(vals, rng) + ".")])


def task_kv_multiquery(rng, filler) -> Task:
    kk, vk = rng.choice(["word", "number"]), rng.choice(["number", "word", "hex"])
    n = rng.randint(2, 4)
    keys = distinct(rng, n + rng.randint(0, 3), lambda r: make_key(r, kk))
    vals = distinct(rng, len(keys), lambda r: make_value(r, vk))
    needles = [(_depth(rng), f"Entry {k}: {v}.") for k, v in zip(keys, vals)]
    q = "Give the entries for " + join_list(keys[:n], rng) + ", in that order."
    ans = " " + "; ".join(f"{k}: {v}" for k, v in zip(keys[:n], vals[:n])) + "."
    return Task("kv_multiquery", lambda m: haystack(filler, m, needles),
                [Round(q, rng.choice(_LEADS), ans)])


def task_alias_chain(rng, filler) -> Task:
    hops, chains = rng.randint(1, 5), rng.randint(1, 3)
    used, needles, target, target_val = set(), [], [], None
    for c in range(chains):
        val = make_number(rng)
        names = []
        while len(names) < hops + 1:
            nm = var_name(rng)
            if nm not in used:
                used.add(nm)
                names.append(nm)
        ds = sorted(rng.random() for _ in names)
        needles.append((ds[0], f"Set {names[0]} to {val}."))
        for i in range(1, len(names)):
            needles.append((ds[i], f"Copy {names[i - 1]} into {names[i]}."))
        if c == 0:
            target, target_val = names, val
    q = f"After all the steps, which names contain {target_val}?"
    lead = f"{rng.choice(_LEADS)} the names containing {target_val} are"
    return Task("alias_chain", lambda m: haystack(filler, m, needles),
                [Round(q, lead, " " + join_list(target, rng) + ".")])


def task_frequent(rng, filler) -> Task:
    k = rng.randint(1, 6)
    words = distinct(rng, k, lambda r: train_word(r, rng.randint(1, 2)))
    seen = set(words)
    f_common = rng.randint(6, 20)

    def build(n_rare):
        r2 = random.Random(hash((tuple(words), n_rare)) & 0xFFFFFFFF)
        rare = []
        while len(rare) < n_rare:
            w = train_word(r2, r2.randint(1, 3))
            if w not in seen:
                rare.append(w)
        items = [w for w in words for _ in range(f_common)] + [w for w in rare for _ in range(2)]
        r2.shuffle(items)
        return "Here is a long sequence of tokens separated by commas:\n" + ", ".join(items) + "."

    q = f"Name the {k} tokens that occur most frequently in the sequence."
    return Task("frequent", build,
                [Round(q, f"{rng.choice(_LEADS)} the {k} most frequent tokens are",
                       " " + join_list(words, rng) + ".")])


def task_multi_round(rng, filler) -> Task:
    kk, vk = rng.choice(["word", "number"]), rng.choice(["number", "word", "hex"])
    n = rng.randint(2, 4)
    keys = distinct(rng, n, lambda r: make_key(r, kk))
    vals = distinct(rng, n, lambda r: make_value(r, vk))
    style = rng.randrange(5)
    needles = [(_depth(rng), _kv_needle(rng, k, v, style)) for k, v in zip(keys, vals)]
    order = list(range(n))
    rng.shuffle(order)
    rounds = [Round(f"Look up {keys[i]}.", rng.choice(_LEADS) + " " + _kv_lead(keys[i], style),
                    f" {vals[i]}.") for i in order]
    return Task("multi_round", lambda m: haystack(filler, m, needles), rounds)


def task_kv_dense(rng, filler) -> Task:
    """Many facts, every one asked: dense answer supervision for look-up-and-copy.

    The answer lead repeats the fact's own wording up to the value, so the skill it trains is
    "find the earlier occurrence of this phrase and copy what followed" (induction), which is
    what any retrieval prompt needs whatever its template.
    """
    kk, vk = rng.choice(["word", "word", "number", "hex"]), rng.choice(["number", "number", "word", "hex"])
    n = rng.randint(2, 8)
    keys = distinct(rng, n, lambda r: make_key(r, kk))
    vals = distinct(rng, n, lambda r: make_value(r, vk))
    style = rng.randrange(5)
    needles = [(_depth(rng), _kv_needle(rng, k, v, style)) for k, v in zip(keys, vals)]
    order = list(range(n))
    rng.shuffle(order)
    order = order[: rng.randint(max(1, n // 2), n)]
    rounds = [Round(rng.choice([f"Look up {keys[i]}.", f"And {keys[i]}?", f"Recall {keys[i]}."]),
                    rng.choice(_LEADS) + " " + _kv_lead(keys[i], style), f" {vals[i]}.") for i in order]
    return Task("kv_dense", lambda m: haystack(filler, m, needles), rounds)


# Family weights (relative draw frequency of task sequences). Look-up-and-copy dominates: the
# first model (weights 3/4/1/1/1/0.5/1 without kv_dense and repeat, answer-only supervision of
# a few tokens per sequence) was still at 0% held-out retrieval after 1000 steps.
FAMILIES = {
    "secret": (task_secret, 3.0),
    "kv": (task_kv, 2.0),
    "kv_dense": (task_kv_dense, 4.0),
    "kv_multivalue": (task_kv_multivalue, 0.5),
    "kv_multiquery": (task_kv_multiquery, 0.5),
    "alias_chain": (task_alias_chain, 0.5),
    "frequent": (task_frequent, 0.25),
    "multi_round": (task_multi_round, 0.5),
}

# Share of sequences that are pure repeated-span copying (see Sampler.repeat_sequence).
REPEAT_FRACTION = 0.3


# ---- packing to token sequences --------------------------------------------------------------

@dataclass
class Sequence:
    ids: list[int]
    weights: list[float]  # per-token loss weight (targets are ids shifted by one)
    family: str


class Sampler:
    """Draws training sequences of at most `length` tokens.

    Loss weights (on each token as a prediction target): for task sequences, answer tokens
    get 1/n_answer and every token lm_weight/n_tokens (so a sequence's loss is
    mean answer CE + lm_weight * mean LM CE); natural-text sequences get 1/n_tokens.
    """

    def __init__(self, tok, natural_sentences: list[str], natural_docs: list[str],
                 text_fraction: float = 0.15, lm_weight: float = 0.2,
                 repeat_fraction: float = REPEAT_FRACTION, random_copy: float = 0.0):
        self.tok = tok
        self.random_copy = random_copy
        # Random-token copies draw from the ids after the special tokens (added tokens).
        self.first_plain_id = 1 + max(t for t in tok.get_added_tokens_decoder())
        self.vocab_size = tok.get_vocab_size()
        self.nat = natural_sentences
        self.docs_text = "\n\n".join(natural_docs)
        self.text_fraction = text_fraction
        self.lm_weight = lm_weight
        self.repeat_fraction = repeat_fraction
        self.bos = tok.token_to_id("<|bos|>")
        self.eos = tok.token_to_id("<|eos|>")
        names = list(FAMILIES)
        self.fam_names = names
        self.fam_weights = [FAMILIES[n][1] for n in names]

    def enc(self, s: str) -> list[int]:
        return self.tok.encode(s, add_special_tokens=False).ids

    def text_sequence(self, rng: random.Random, length: int) -> Sequence:
        start = rng.randrange(max(1, len(self.docs_text) - 8 * length))
        ids = [self.bos] + self.enc(self.docs_text[start:start + 6 * length])[: length - 1]
        n = len(ids) - 1
        return Sequence(ids, [1.0 / n] * (len(ids) - 1), "text")

    def task_sequence(self, rng: random.Random, length: int, family: str | None = None) -> Sequence:
        family = family or rng.choices(self.fam_names, self.fam_weights)[0]
        filler = Filler(rng, self.nat)
        task = FAMILIES[family][0](rng, filler)
        # Tail after the context: rounds with their answers, and eos.
        first_q = "\n\n" + task.rounds[0].question + "\n" + task.rounds[0].lead
        tail: list[tuple[list[int], bool]] = []
        for i, r in enumerate(task.rounds):
            last = i + 1 == len(task.rounds)
            ans = self.enc(r.answer + ("" if last else "\n\n")) + ([self.eos] if last else [])
            tail.append((ans, True))
            if not last:
                nxt = task.rounds[i + 1]
                tail.append((self.enc(nxt.question + "\n" + nxt.lead), False))
        tail_len = sum(len(t) for t, _ in tail)
        budget = length - 1 - tail_len

        def count(n):
            return len(self.enc(task.build(n) + first_q))

        # Fit the filler count: estimate from 8 units, then a few secant steps; keep the
        # largest count that fits.
        c0, c8 = count(0), count(8)
        if c0 > budget:
            raise ValueError(f"{family}: length {length} too short")
        per = max(1.0, (c8 - c0) / 8)
        n = max(0, int((budget - c0) / per))
        best_n, best_head = 0, None
        for _ in range(6):
            head = self.enc(task.build(n) + first_q)
            if len(head) <= budget:
                if n >= best_n:
                    best_n, best_head = n, head
                step = int((budget - len(head)) / per)
                if step < 1:
                    break
                n += step
            else:
                n = max(0, n - max(1, int((len(head) - budget) / per + 0.999)))
        head = best_head if best_head is not None else self.enc(task.build(0) + first_q)
        ids = [self.bos] + head
        ans_mask = [False] * len(ids)
        for t, is_ans in tail:
            ids += t
            ans_mask += [is_ans] * len(t)
        n_tok = len(ids) - 1
        n_ans = sum(ans_mask)
        w = [self.lm_weight / n_tok + (1.0 / n_ans if ans_mask[i + 1] else 0.0) for i in range(n_tok)]
        return Sequence(ids, w, family)

    def _repeat_content(self, rng: random.Random, length: int) -> list[int]:
        """The first part of a repeat sequence (at least `length` tokens but for short text)."""
        if self.random_copy > 0 and rng.random() < self.random_copy:
            # Uniformly random ids: nothing predicts them but the earlier occurrence, for every
            # id of the vocabulary (text and tasks leave rare ids untrained); this is what
            # turned a model that retrieved only its own task formats into one that copies
            # any span (docs/model.md, session 4).
            return [rng.randrange(self.first_plain_id, self.vocab_size) for _ in range(length)]
        if rng.random() < 0.4 and self.docs_text:
            start = rng.randrange(max(1, len(self.docs_text) - 8 * length))
            return self.enc(self.docs_text[start:start + 6 * length])
        parts = []
        while sum(len(p) for p in parts) < length:
            r = rng.random()
            w = make_number(rng) if r < 0.3 else make_hex_id(rng) if r < 0.4 else train_word(rng, rng.randint(1, 3))
            parts.append(self.enc(" " + w + rng.choice([",", "", "", ".", ";"])))
        return [t for p in parts for t in p]

    def repeat_sequence(self, rng: random.Random, length: int) -> Sequence:
        """A stretch of content, then a span of it copied again (loss on the copy only).

        Every copied token after the first is predictable only by looking back at the earlier
        occurrence, so these sequences grow induction heads quickly; the content is
        random pseudo-words / numbers / hex ids (nothing to predict but by copying) or
        natural text.
        """
        content = self._repeat_content(rng, length)
        sep = self.enc(rng.choice(["\n\nAgain:", "\n\nCopy:", "\n\n>>", "\n\nOnce more:"]))
        room = length - 1 - len(sep)
        # The copy is long (it fills the rest of the sequence, ~half of it), so ~40% of the
        # tokens are supervised copies: short copies (the first version: ~10 of 128 tokens)
        # gave too little signal for a copy circuit to form within a CPU budget. It starts at
        # a random point of the first part, so it must be found by content, not position.
        a_len = min(len(content), rng.randint(int(room * 0.4), max(1, int(room * 0.6))))
        a = content[:a_len]
        st = rng.randrange(max(1, a_len // 4))
        b = a[st:st + min(a_len - st, room - a_len)]
        ids = [self.bos] + a + sep + b
        n_tok = len(ids) - 1
        first_b = 1 + len(a) + len(sep)  # index in ids of b's first token
        n_ans = max(1, len(b) - 1)
        w = [self.lm_weight / n_tok + (1.0 / n_ans if i + 1 > first_b else 0.0) for i in range(n_tok)]
        return Sequence(ids, w, "repeat")

    def sample(self, rng: random.Random, length: int) -> Sequence:
        if rng.random() < self.text_fraction:
            return self.text_sequence(rng, length)
        if rng.random() < self.repeat_fraction:
            return self.repeat_sequence(rng, length)
        for _ in range(20):  # a draw too long for short lengths is redrawn (same rng: deterministic)
            try:
                return self.task_sequence(rng, length)
            except ValueError:
                continue
        return self.text_sequence(rng, length)


def rng_for(seed: int, step: int, index: int) -> random.Random:
    return random.Random(f"{TRAIN_SEED_NAMESPACE}/{seed}/{step}/{index}")
