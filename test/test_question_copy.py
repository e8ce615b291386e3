"""QuestionCopy: the pointer-generator mix; trained, the answer names a question word it never saw as an answer;
the cached generation and the training pass score the same answer alike."""

from __future__ import annotations

import math

import pytest
import torch

from leovl_ros.model.config import LeoVLConfig, LLMConfig
from leovl_ros.model.leovl import LeoVLModel, TrainItem
from leovl_ros.model.question_copy import GATE_BIAS, QuestionCopy
from leovl_ros.model.tokenizer import train_tokenizer

WORDS = ["sofa", "chair", "table", "lamp", "bed", "desk", "plant", "shelf"]
CORPUS = [f"what colour is the {w} there is no {w} is there a {w} here yes" for w in WORDS] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS, vocab_size=320)


def copy_model(tokenizer) -> LeoVLModel:
    torch.manual_seed(0)
    llm = LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2)
    cfg = LeoVLConfig(cfg_encoder={"feature_dim": 8, "hidden_dim": 32, "num_heads": 2}, llm=llm,
                      text_encoder="none", question_copy=True)
    return LeoVLModel(cfg, tokenizer)


def scene(seed: int = 0, n: int = 5) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"features": torch.randn(n, 2, 8, generator=g), "heights": torch.rand(n, 2, generator=g),
            "weights": torch.ones(n, 2), "mask": torch.ones(n, 2, dtype=torch.bool),
            "xy": torch.rand(n, 2, generator=g) * 4, "cell_size": torch.full((n,), 0.3)}


def test_the_mix_is_the_pointer_generator_formula():
    copy = QuestionCopy(16)
    logp = torch.randn(2, 3, 10).log_softmax(-1)
    hidden, keys, ids = torch.randn(2, 3, 16), torch.randn(2, 4, 16), torch.randint(0, 10, (2, 4))
    mixed = copy(logp, hidden, keys, ids, torch.ones(2, 4, dtype=torch.bool))
    assert torch.allclose(mixed.exp().sum(-1), torch.ones(2, 3), atol=1e-5)  # still a distribution
    with torch.no_grad():
        attn = (copy.query(hidden) @ copy.key(keys).transpose(1, 2) / 4.0).softmax(-1)  # [2, 3, 4]
        pointer = torch.zeros(2, 3, 10).scatter_add_(2, ids[:, None].expand(-1, 3, -1), attn)
        g = torch.sigmoid(copy.gate(hidden))
    assert torch.allclose(mixed.exp(), (1 - g) * logp.exp() + g * pointer, atol=1e-5)
    assert float(g.mean()) == pytest.approx(1 / (1 + math.exp(-GATE_BIAS)))


def test_trained_copy_names_a_word_never_seen_as_an_answer(tokenizer):
    """Every class word is asked about ("is there a plant here?" → "yes"), but "there is no X" is trained for six
    of them: the answer to the other two names them, copied from the question."""
    model = copy_model(tokenizer)
    room = scene()
    train, unseen = WORDS[:-2], WORDS[-2:]
    items = [TrainItem(room, model.prompt(f"what colour is the {w}?"), model.answer_ids(f"there is no {w}"))
             for w in train]
    items += [TrainItem(room, model.prompt(f"is there a {w} here?"), model.answer_ids("yes")) for w in WORDS]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model.nll(items)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    prefix = model.scene_prefix(room)
    for w in unseen:  # the copied word's first token; a word of several tokens may not end where it should
        first = tokenizer.decode(tokenizer.encode(" " + w, add_special_tokens=False)[:1]).strip()
        answer = model.generate(prefix, f"what colour is the {w}?", max_new_tokens=6).text
        assert answer.startswith(f"there is no {first}"), (w, answer)


def test_generation_and_training_pass_score_an_answer_alike(tokenizer):
    model = copy_model(tokenizer)
    with torch.no_grad():  # an open gate, so the copy's share is large enough to matter
        model.question_copy.gate.bias.fill_(0.0)
        model.question_copy.query.weight.normal_(std=0.5)
    model.eval()
    room = scene(1)
    question = "what colour is the lamp?"
    gen = model.generate(model.scene_prefix(room), question, max_new_tokens=5)
    assert len(gen.token_ids) >= 2
    item = TrainItem(room, model.prompt(question), list(gen.token_ids))
    with torch.no_grad():
        logp, n = model([item])
    assert int(n) == len(gen.token_ids)
    assert float(logp) == pytest.approx(sum(math.log(p) for p in gen.token_probs), abs=1e-3)


def test_span_copy_pads_short_questions_and_mixes_only_answer_positions():
    from leovl_ros.model.question_copy import question_span_copy

    copy = QuestionCopy(16)
    logp = torch.randn(2, 8, 10).log_softmax(-1)
    hidden, ids = torch.randn(2, 8, 16), torch.randint(0, 10, (2, 9))
    # row 0: a 6-token question; row 1: a 1-token question late in its row (its padded span runs past the end)
    out = question_span_copy(copy, logp, hidden, ids, [(0, 6, 7, 8), (6, 7, 7, 8)])
    assert torch.equal(out[:, :7], logp[:, :7])  # before the mix start: the LLM's own
    assert not torch.allclose(out[:, 7], logp[:, 7])
    row1 = copy(logp[1:, 7:], hidden[1:, 7:], hidden[1:, 6:7], ids[1:, 6:7], torch.ones(1, 1, dtype=torch.bool))
    assert torch.allclose(out[1:, 7:], row1, atol=1e-6)  # the padding columns did not count
    assert torch.equal(question_span_copy(copy, logp, hidden, ids, [(3, 3, 4, 8), (2, 2, 5, 8)]), logp)  # no question


def test_the_copy_points_at_whole_class_names_only():
    """"trash can" is copyable as a whole; the "can" of "can you see", "is" and "no" are not; a question without a
    class name keeps the LLM's distribution."""
    from leovl_ros.model.question_copy import word_token_ids

    tok = train_tokenizer(CORPUS + ["can you see a trash can here", "is there no trash can"] * 10, vocab_size=320)
    copy = QuestionCopy(16, word_token_ids(tok, ["trash can", "sofa"]))
    words = ["can", "you", "see", "a", "trash can", "or", "no", "sofa"]
    pieces = [tok(" " + w, add_special_tokens=False)["input_ids"] for w in words]
    ids = torch.tensor([[t for p in pieces for t in p]])
    expected = torch.tensor([w in ("trash can", "sofa") for w, p in zip(words, pieces) for _ in p])
    assert torch.equal(copy.copyable(ids, torch.ones_like(ids, dtype=torch.bool))[0], expected)
    logp = torch.randn(1, 2, len(tok)).log_softmax(-1)
    hidden, keys = torch.randn(1, 2, 16), torch.randn(1, ids.shape[1], 16)
    mixed = copy(logp, hidden, keys, ids, copy.copyable(ids, torch.ones_like(ids, dtype=torch.bool)))
    pointed = mixed.exp() - (1 - torch.sigmoid(copy.gate(hidden))) * logp.exp()  # the pointer's share
    others = sorted(set(ids[0][~expected].tolist()) - set(ids[0][expected].tolist()))
    assert float(pointed[0][:, others].abs().max()) < 1e-6 and float(pointed.sum()) > 0.01
    plain = torch.tensor([tok(" is there a desk here", add_special_tokens=False)["input_ids"]])
    mask = copy.copyable(plain, torch.ones_like(plain, dtype=torch.bool))
    assert torch.equal(copy(logp, hidden, keys[:, : plain.shape[1]], plain, mask), logp)
