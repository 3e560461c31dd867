"""tools/train against references: model.py == transformers LlamaForCausalLM; GGUF export
permutation; DMS retrofit masks. Random tiny weights, seconds on CPU; skips (77) without
torch/transformers."""

import os
import sys

try:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
except ImportError:
    sys.exit(77)

SRC = os.environ.get("LONGKV_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tools", "train"))

import dms_retrofit as D  # noqa: E402
import export  # noqa: E402
import model as M  # noqa: E402


def tiny(seed=0):
    torch.manual_seed(seed)
    cfg = M.Config(vocab_size=97, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=16, intermediate_size=96, rope_theta=10000.0)
    m = M.LlamaLM(cfg).eval()
    with torch.no_grad():  # non-trivial norms too
        for n, p in m.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    return m


def test_matches_transformers():
    m = tiny()
    hc = {k: v for k, v in M.hf_config(m.cfg).items() if k != "architectures"}
    hf = LlamaForCausalLM(LlamaConfig(**hc)).eval()
    hf.load_state_dict(m.state_dict(), strict=True)
    ids = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        d = (m(ids) - hf(ids).logits).abs().max().item()
    assert d < 1e-5, f"model.py vs transformers: max |diff| {d}"


def test_qk_permutation():
    # GGUF row 2i + j of a head comes from HF row j * D/2 + i (src/model/qk_permute.h).
    D_, heads, cols = 8, 2, 3
    w = torch.arange(heads * D_ * cols, dtype=torch.float32).view(heads * D_, cols).numpy()
    p = export.permute_qk(w, D_)
    for h in range(heads):
        for i in range(D_ // 2):
            for j in range(2):
                assert (p[h * D_ + 2 * i + j] == w[h * D_ + j * D_ // 2 + i]).all()


def test_dms_masks():
    base = tiny(1)
    ids = torch.randint(3, 97, (1, 48))
    with torch.no_grad():
        ref = base(ids)
        # Projection form, window beyond the sequence: nothing can be evicted -> base logits.
        st = D.DMSLlama(tiny(1), "proj", 100.0, 5.0, 0.1, window=1000).eval()
        got, _ = st(ids, "eval")
        assert (got - ref).abs().max().item() < 1e-5
        # Force "evict everything" with a small window: the kept fraction is the window share,
        # and the output changes.
        for layer in st.lm.model.layers:
            torch.nn.init.zeros_(layer.self_attn.dms_proj_alpha.weight)
        st.alpha_offset = -5.0  # logit = +5 > 0 everywhere
        st.window = 8
        got, stats = st(ids, "eval")
        T = ids.shape[1]
        kept = D.kept_fraction(stats, T, 8)
        # Keys 0..T-1; key t is gone iff its shifted decision says evict (t < T-1) and it is
        # older than the window (T-1-t > 8): t < T-9 -> T-9 keys gone.
        assert abs(kept - (1 - (T - 9) / T)) < 1e-6, kept
        assert (got - ref).abs().max().item() > 1e-3
        # Neuron form: the repurposed query dimension (last pre-RoPE dim of the first query
        # head of each KV group) takes no part in attention: with nothing evictable, changing
        # that q_proj row leaves the logits unchanged.
        stn = D.DMSLlama(tiny(1), "neuron", 100.0, 5.0, 0.1, window=1000).eval()
        before, _ = stn(ids, "eval")
        for layer in stn.lm.model.layers:
            w = layer.self_attn.q_proj.weight
            for h in range(0, 4, 2):
                w[h * 16 + 15].normal_(0.0, 1.0)
        after, _ = stn(ids, "eval")
        assert (after - before).abs().max().item() < 1e-5
        # ... while any other row does matter.
        stn.lm.model.layers[0].self_attn.q_proj.weight[14].normal_(0.0, 1.0)
        other, _ = stn(ids, "eval")
        assert (other - before).abs().max().item() > 1e-4


def test_dms_train_gate_is_soft_and_shifted():
    st = D.DMSLlama(tiny(2), "proj", 100.0, 5.0, 0.1, window=4)
    ids = torch.randint(3, 97, (1, 16))
    noise = torch.zeros(2, 1, 2, 16)
    logits, stats = st(ids, "train", noise)
    loss = sum(s.mean() for s in stats) + logits.mean()
    loss.backward()
    g = st.lm.model.layers[0].self_attn.dms_proj_alpha.weight.grad
    assert g is not None and g.abs().sum() > 0, "no gradient reaches the decision projection"


def test_dms_neuron_starts_at_keep():
    # The repurposed channel's q_proj rows are zeroed, so every decision starts at "keep"
    # (logit = -offset) and the step-0 student equals the base minus that channel.
    st = D.DMSLlama(tiny(3), "neuron", 100.0, 5.0, 0.1, window=4)
    c = st.cfg
    g = c.num_attention_heads // c.num_key_value_heads
    for layer in st.lm.model.layers:
        w = layer.self_attn.q_proj.weight.view(c.num_attention_heads, c.head_dim, -1)
        assert w[::g, -1].abs().sum() == 0 and w[1::g, -1].abs().sum() > 0
    _, stats = st(torch.randint(3, 97, (1, 24)), "eval")
    assert all(s.sum() == 0 for s in stats), "a fresh neuron-form student already evicts"


def test_random_copy_sequences():
    # --random-copy: the copied span repeats uniformly random plain ids of the first part.
    import random

    import data
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(SRC, "models", "longkv-tiny", "tokenizer.json"))
    sm = data.Sampler(tok, [], [], 0.0, 0.1, 1.0, random_copy=1.0)
    for i in range(5):
        s = sm.repeat_sequence(random.Random(i), 256)
        ids, w = s.ids, s.weights
        first = [j for j in range(len(w)) if w[j] > 0.5 * max(w)]  # supervised copy targets
        assert len(first) > 50
        b = [ids[j + 1] for j in first]
        a = ids[1:first[0]]
        assert any(a[k:k + len(b)] == b for k in range(len(a))), "copy is not a span of the first part"
        assert all(sm.first_plain_id <= t < tok.get_vocab_size() for t in b)


def test_data_workers_and_corpus_snapshot_give_the_same_batches():
    # train.py --data-workers N and --corpus SNAPSHOT (used on GPU hosts) must not change the
    # data: a sequence is a pure function of (seed, step, index) and the snapshot holds the
    # same documents as this machine's files.
    import json
    import subprocess
    import tempfile

    import corpus
    import data
    import train
    from tokenizers import Tokenizer
    fd, tmp = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    subprocess.run([sys.executable, os.path.join(SRC, "tools", "train", "corpus.py"), "--snapshot", tmp],
                   check=True, capture_output=True)
    docs = corpus.documents()
    assert corpus.documents(tmp) == docs
    assert corpus.manifest(tmp) == corpus.manifest()
    assert json.load(open(tmp))["manifest"]
    tok = Tokenizer.from_file(os.path.join(SRC, "models", "longkv-tiny", "tokenizer.json"))
    train._SAMPLER = data.Sampler(tok, corpus.sentences(docs), docs, 0.1, 0.1, 0.3, 0.3)
    jobs = [train.step_jobs(7, st, 5, 2, 256) for st in (3, 4)]
    assert [len(m) for m in jobs[0]] == [2, 2, 1]
    serial = [train.StepData(1).get(st, j) for st, j in zip((3, 4), jobs)]
    pool = train.StepData(2)
    parallel = [pool.get(3, jobs[0], 4, jobs[1]), pool.get(4, jobs[1])]
    assert serial == parallel
    assert serial[0] != serial[1]
    os.remove(tmp)


if __name__ == "__main__":
    test_matches_transformers()
    test_qk_permutation()
    test_dms_masks()
    test_dms_train_gate_is_soft_and_shifted()
    test_dms_neuron_starts_at_keep()
    test_random_copy_sequences()
    test_data_workers_and_corpus_snapshot_give_the_same_batches()
    print("ok")
