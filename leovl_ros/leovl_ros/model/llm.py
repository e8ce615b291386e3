"""One load path for the causal LM: a tiny from-scratch config, or a pretrained local model with LoRA."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from leovl_ros.model.config import LLMConfig

IDENTITY_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")
"""config.json values that identify a pretrained LLM (a LoRA checkpoint records them and loading checks them)."""


def pretrained_folder(config: LLMConfig) -> Path:
    """The local Hugging Face folder of ``llm.pretrained_path``; a clear error where it is not one (nothing is
    downloaded: a hub name is refused too)."""
    folder = Path(str(config.pretrained_path)).expanduser()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"llm.pretrained_path {config.pretrained_path!r} is not a local Hugging Face model folder (no "
            "config.json); download the model once (e.g. `huggingface-cli download NAME --local-dir DIR`) and point "
            "the preset's model.llm.pretrained_path or train.py's --llm at DIR")
    return folder


def pretrained_identity(config: LLMConfig) -> dict[str, Any]:
    """The identifying config.json values (``IDENTITY_KEYS``) of the pretrained LLM a checkpoint builds on."""
    data = json.loads((pretrained_folder(config) / "config.json").read_text())
    return {k: data.get(k) for k in IDENTITY_KEYS}


def build_llm(config: LLMConfig, tokenizer: PreTrainedTokenizerBase) -> nn.Module:
    """Causal LM with eager attention (its weights give grounding): tiny random, or pretrained (float32 master
    weights; with ``use_lora`` its own weights frozen and LoRA adapters on ``lora_targets`` trained)."""
    if config.pretrained_path:
        model = AutoModelForCausalLM.from_pretrained(str(pretrained_folder(config)), attn_implementation="eager",
                                                     dtype=torch.float32)
        if config.use_lora:
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=list(config.lora_targets),
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(model, lora)
        return model
    if config.architecture == "qwen2":
        from transformers import Qwen2Config as Cfg
        from transformers import Qwen2ForCausalLM as Model
    else:
        from transformers import LlamaConfig as Cfg  # type: ignore[assignment]
        from transformers import LlamaForCausalLM as Model  # type: ignore[assignment]
    cfg = Cfg(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    cfg._attn_implementation = "eager"
    return Model(cfg)


def load_pretrained_tokenizer(config: LLMConfig) -> PreTrainedTokenizerBase:
    """The tokenizer shipped with a pretrained LLM (a pad token is added as EOS where it has none)."""
    tok = AutoTokenizer.from_pretrained(str(pretrained_folder(config)))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def llm_dim(model: nn.Module) -> int:
    """Embedding width of a (possibly LoRA-wrapped) causal LM."""
    return int(model.get_input_embeddings().embedding_dim)
