"""Tiny local stand-ins for the pretrained models of the real-scan recipe (nothing is downloaded): randomly
initialised Qwen2 / Llama causal LMs saved with tokenizers of their families' conventions (Qwen2: no BOS; Llama 3:
BOS, no pad), a SigLIP vision tower, and one tiny synthetic data folder fused with that tower, shared by the
pretrained-LLM, torchrun and question-file tests of a session."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import torch
import yaml

from leovl_ros.agent.paths import REPO_ROOT

TINY_DATA = dict(train_scenes=3, test_scenes=2, stage1_scenes=1, stage1_frames=2, frames=4, heldout_questions=14,
                 heldout_min_scenes=2, tokenizer_scenes=1, workers=1, tasks={"qa_per_type": 2, "situations": 1})
"""DataConfig values of the tiny folder: 3 training rooms, 2 held-out rooms, 4 frames each."""
TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32,
             patch_size=8)
"""A SigLIP vision tower small enough to fuse a room in a second (4 × 4 patches of width 32)."""
LLM = dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           max_position_embeddings=1024)
"""Transformers config values shared by the tiny Qwen2 and Llama."""
FAMILIES = ("qwen2", "llama")


def save_tower(folder: Path) -> Path:
    """A randomly initialised SigLIP vision tower saved as a local Hugging Face folder."""
    import transformers as tf

    torch.manual_seed(0)
    tf.SiglipVisionModel(tf.SiglipVisionConfig(**TOWER)).eval().save_pretrained(folder)
    return folder


def family_tokenizer(family: str, corpus: list[str]) -> Any:
    """A byte-level BPE trained on ``corpus`` (the project's own tokenizer code) with a family's conventions:
    ``Qwen2TokenizerFast`` without BOS (EOS ``<|im_end|>``, pad ``<|endoftext|>``), or a Llama-3-style
    ``PreTrainedTokenizerFast`` with BOS and EOS but no pad token."""
    from transformers import PreTrainedTokenizerFast, Qwen2TokenizerFast

    from leovl_ros.model.tokenizer import train_tokenizer

    bpe = train_tokenizer(corpus, vocab_size=320)
    if family == "llama":
        return PreTrainedTokenizerFast(tokenizer_object=bpe.backend_tokenizer, bos_token="<|begin_of_text|>",
                                       eos_token="<|end_of_text|>")
    spec = json.loads(bpe.backend_tokenizer.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split()) for m in spec["merges"]]
    return Qwen2TokenizerFast(vocab=spec["vocab"], merges=merges, bos_token=None, eos_token="<|im_end|>",
                              pad_token="<|endoftext|>", unk_token=None)


def save_llm(family: str, folder: Path, corpus: list[str], seed: int = 0) -> Path:
    """A randomly initialised causal LM of ``family`` ('qwen2' or 'llama') and its tokenizer in one local folder,
    as a downloaded model is laid out."""
    import transformers as tf

    tok = family_tokenizer(family, corpus)
    config_cls, model_cls = ((tf.Qwen2Config, tf.Qwen2ForCausalLM) if family == "qwen2"
                             else (tf.LlamaConfig, tf.LlamaForCausalLM))
    cfg = config_cls(vocab_size=len(tok) + 8, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, tie_word_embeddings=family == "qwen2", **LLM)
    torch.manual_seed(seed)
    model_cls(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def corpus_of(data: Path) -> list[str]:
    """Questions, situations and answers of a data folder's held-out set (the tiny tokenizers' training text)."""
    from training.data import read_heldout

    out = []
    for s in read_heldout(data):
        out += [s.question, *s.answers, *([s.situation] if s.situation else [])]
    return out * 3


@functools.lru_cache(maxsize=1)
def tiny_data() -> tuple[Path, Path]:
    """(data folder, SigLIP tower folder): the tiny synthetic rooms fused with the tower, made once per session
    (the folder is removed when the session ends)."""
    from training.config import DataConfig
    from training.prepare import prepare_scenes

    root = Path(tempfile.mkdtemp(prefix="leovl_tiny_pretrained_"))
    atexit.register(shutil.rmtree, root, True)
    tower = save_tower(root / "tower")
    prepare_scenes(DataConfig(**TINY_DATA), root / "data", tower, vocab_size=320)
    return root / "data", tower


def tiny_recipe(preset: str, folder: Path, llm: Optional[Path] = None, sft_steps: int = 2, dpo_steps: int = 2):
    """``preset`` shrunk to the tiny data (2-step stages, batch 2, tiny evaluation), with ``llm`` as its
    pretrained LLM where given and no label anchors nor class presence (the tower has no class heads); returns
    (RecipeConfig, the path of the same values as a preset YAML for the command-line tools)."""
    from training.config import DataConfig, load_preset

    cfg = load_preset(preset)
    cfg.data = dataclasses.replace(DataConfig(**TINY_DATA), condense=cfg.data.condense)
    cfg.label_anchors = False
    cfg.model["reader"] = {**cfg.model.get("reader", {}), "presence": False}
    if llm is not None:
        cfg.model["llm"] = {**cfg.model.get("llm", {}), "pretrained_path": str(llm), "lora_r": 4, "lora_alpha": 8}
    cfg.sft = dataclasses.replace(cfg.sft, steps=sft_steps, batch_size=2, warmup=1, log_every=1, save_every=100)
    cfg.dpo = dataclasses.replace(cfg.dpo, steps=dpo_steps, batch_size=2, log_every=1)
    cfg.eval = dataclasses.replace(cfg.eval, max_questions=4, max_captions=2, max_new_tokens=4)
    path = folder / f"tiny_{preset}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dataclasses.asdict(cfg)))
    return cfg, path


TRAIN_SCRIPT = REPO_ROOT / "training" / "train.py"
"""The stage trainer the command-line tests run."""
