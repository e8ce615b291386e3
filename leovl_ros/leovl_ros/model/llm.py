"""One load path for the causal LM: a tiny from-scratch config, or a pretrained local model with LoRA."""

from __future__ import annotations

from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from leovl_ros.model.config import LLMConfig


def build_llm(config: LLMConfig, tokenizer: PreTrainedTokenizerBase) -> nn.Module:
    """Causal LM with eager attention (its weights give grounding): tiny random, or pretrained (+LoRA)."""
    if config.pretrained_path:
        model = AutoModelForCausalLM.from_pretrained(config.pretrained_path, attn_implementation="eager")
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
    tok = AutoTokenizer.from_pretrained(config.pretrained_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def llm_dim(model: nn.Module) -> int:
    """Embedding width of a (possibly LoRA-wrapped) causal LM."""
    return int(model.get_input_embeddings().embedding_dim)
