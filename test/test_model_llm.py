"""Tokenizer, prompt layout, tiny LLM and the LoRA path on a tiny random pretrained model saved to disk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.model.config import LLMConfig, PromptConfig
from leovl_ros.model.llm import build_llm, llm_dim, load_pretrained_tokenizer
from leovl_ros.model.prompt import answer_ids, build_prompt, pose_text, query_parts
from leovl_ros.model.tokenizer import load_tokenizer, train_tokenizer

CORPUS = ["how many chairs are there", "what colour is the sofa", "the red chair is left of the table", "two"] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS, vocab_size=400)


def test_tokenizer_roundtrip_and_specials(tokenizer, tmp_path):
    text = "the red chair is left of the table, 2.5 metres"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert len(tokenizer("the red chair is left of the table", add_special_tokens=False)["input_ids"]) <= 10
    assert tokenizer.decode(tokenizer("Unseen Wörds", add_special_tokens=False)["input_ids"]) == "unseen wörds"
    assert {tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id} == {0, 1, 2}
    tokenizer.backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
    again = load_tokenizer(tmp_path)
    assert again(text, add_special_tokens=False)["input_ids"] == ids


def test_prompt_layout_situation_history_and_pose(tokenizer):
    cfg = PromptConfig(max_history=1)
    pose = np.array([1.2, 0.4, 0, 0, 0, 0.7071068, 0.7071068])
    history = [("q1", "a1"), ("q2", "a2")]
    p = build_prompt(tokenizer, cfg, "what is left of me?", "i sit on the bed", pose, history=history)
    text = tokenizer.decode(p.query)
    assert text == (" situation: i sit on the bed at x 1 y 0.5 facing 90 degrees question: q2 answer: a2"
                    " question: what is left of me? answer:")
    assert p.before_scene[0] == tokenizer.bos_token_id
    assert tokenizer.decode(p.query[p.question_start:]) == " question: what is left of me? answer:"
    assert tokenizer.decode(p.before_scene[1:]).endswith("scene: ")
    assert answer_ids(tokenizer, "two")[-1] == tokenizer.eos_token_id
    pose = np.eye(4)
    pose[:2, :2] = [[0, -1], [1, 0]]
    assert pose_text(pose) == "at x 0 y 0 facing 90 degrees"
    assert query_parts("q") == ("", " question: q answer:")
    with pytest.raises(ValueError):
        pose_text(np.zeros(5))


def test_tiny_llm_params_and_forward(tokenizer):
    cfg = LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2)
    model = build_llm(cfg, tokenizer)
    assert llm_dim(model) == 64
    out = model(input_ids=torch.tensor([[1, 5, 6]]), output_attentions=True)
    assert out.logits.shape == (1, 3, len(tokenizer)) and out.attentions[0].shape == (1, 4, 3, 3)
    default = build_llm(LLMConfig(), train_tokenizer(CORPUS, vocab_size=1024))
    n = sum(p.numel() for p in default.parameters())
    assert 2e6 < n < 8e6


def test_pretrained_llm_with_lora_from_local_path(tokenizer, tmp_path):
    small = LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2)
    base = build_llm(small, tokenizer)
    base.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    cfg = LLMConfig(pretrained_path=str(tmp_path), lora_r=4)
    tok = load_pretrained_tokenizer(cfg)
    model = build_llm(cfg, tok)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    ids = torch.tensor([[1, 7, 8, 9]])
    with torch.no_grad():  # LoRA B starts at zero: the wrapped model equals the base
        assert torch.allclose(model(input_ids=ids).logits, base(input_ids=ids).logits, atol=1e-5)
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad and "lora_B" in n)
