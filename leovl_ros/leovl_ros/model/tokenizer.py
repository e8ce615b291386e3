"""Byte-level BPE tokenizer for the tiny default LLM, trained with `tokenizers` on the task vocabulary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}


def default_corpus(n_scenes: int = 200) -> Iterator[str]:
    """Corpus for the BPE merges: templates and samples of ``n_scenes`` synthetic training scenes."""
    from leovl_ros.sim.shards import vocabulary_corpus

    return vocabulary_corpus(n_scenes=n_scenes)


def train_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Train a lower-casing byte-level BPE on the corpus and wrap it as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    from leovl_ros.model.config import PromptConfig

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    prompt = PromptConfig()
    texts = list(corpus if corpus is not None else default_corpus())
    texts += [prompt.system, " situation: question: answer: at x y facing degrees"] * 20
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved as tokenizer.json (tiny default) or a folder a pretrained LLM ships."""
    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no tokenizer.json at {path}")
    return PreTrainedTokenizerFast(tokenizer_file=str(file), **SPECIAL_TOKENS)
