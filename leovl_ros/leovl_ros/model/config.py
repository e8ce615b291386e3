"""Dataclass configs of the LEO-VL model (2D encoder, LLM, prompt) and their YAML round trip."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

import yaml

T = TypeVar("T")


@dataclass
class ImageEncoderConfig:
    """Which frozen 2D encoder turns RGB frames into per-patch features for the voxel store."""

    kind: str = "small_cnn"
    """'small_cnn' (the default, trained in stage 1) or 'hf' (a transformers vision tower from ``path``)."""
    path: Optional[str] = None
    """Local folder of a transformers vision model (kind 'hf') or of a saved SmallCNN (kind 'small_cnn')."""
    feature_dim: int = 32
    """Output channels of the SmallCNN feature map (ignored for 'hf': the tower's hidden size is used)."""
    width: int = 32
    """Base channel width of the SmallCNN convolutions."""
    context_layers: int = 0
    """Dilated residual convolutions after the stride-8 stem (dilation 2, 4, 8, …): each widens the receptive
    field so a cell sees enough of its object to tell its class (0 = the stem only, as in format-1 checkpoints)."""
    num_classes: int = 18
    """Class-head outputs of the SmallCNN (object classes + floor + wall + nothing)."""
    num_colours: int = 9
    """Colour-head outputs of the SmallCNN (named colours + 'none')."""
    image_size: int = 224
    """Square input side for an 'hf' tower (resized to it); the SmallCNN takes any size."""

    def __post_init__(self) -> None:
        if self.kind not in ("small_cnn", "hf"):
            raise ValueError(f"image encoder kind must be 'small_cnn' or 'hf', got {self.kind!r}")
        if self.kind == "hf" and not self.path:
            raise ValueError("image encoder kind 'hf' needs a local model path")


@dataclass
class LLMConfig:
    """The causal LM: a tiny from-scratch transformers config or a pretrained local model tuned with LoRA."""

    pretrained_path: Optional[str] = None
    """Local folder of a pretrained causal LM (+ its tokenizer); None builds the tiny default from scratch."""
    architecture: str = "qwen2"
    """Architecture of the tiny default: 'qwen2' or 'llama'."""
    hidden_size: int = 256
    """Tiny default: model width."""
    intermediate_size: int = 640
    """Tiny default: MLP width."""
    num_layers: int = 4
    """Tiny default: decoder layers."""
    num_heads: int = 8
    """Tiny default: attention heads."""
    num_kv_heads: int = 4
    """Tiny default: key/value heads (grouped-query attention)."""
    max_positions: int = 2048
    """Tiny default: longest sequence (scene tokens + text)."""
    vocab_size: int = 1024
    """Tiny default: BPE vocabulary size the tokenizer is trained to."""
    use_lora: bool = True
    """For a pretrained LLM: train LoRA adapters (True) or all weights (False)."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator."""
    lora_dropout: float = 0.05
    """LoRA dropout."""
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    """Module names LoRA adapts."""

    def __post_init__(self) -> None:
        if self.architecture not in ("qwen2", "llama"):
            raise ValueError(f"LLM architecture must be 'qwen2' or 'llama', got {self.architecture!r}")
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must divide by num_heads, and num_heads by num_kv_heads")


@dataclass
class PromptConfig:
    """Prompt layout: system text with a scene placeholder, then situation, history, question."""

    system: str = "you are a robot in a room. answer the question about the 3d scene. scene: <scene>"
    """System text; the scene tokens are inserted at ``scene_placeholder`` (the cached prefix ends there)."""
    scene_placeholder: str = "<scene>"
    """Marker in ``system`` where the scene tokens go."""
    max_history: int = 3
    """Dialogue turns kept in the prompt (older turns are dropped)."""
    max_new_tokens: int = 48
    """Default cap on generated answer tokens: the evaluation's (``training.config.EvalConfig``), which a scene
    caption needs (up to 46 tokens plus its end); at 32 the node cut "describe the room" mid-sentence."""


@dataclass
class ReaderConfig:
    """The question-keyed scene reader (``leovl_ros.model.reader.SceneReader``): each head picks question tokens,
    matches them against the scene tokens, and hands the LLM one evidence token before the answer — a soft word
    (a probability-weighted mix of the LLM's word embeddings). The first answer token mixes the LLM's distribution
    with the heads' words and a word read from measurements of the attended columns (a learned copy gate); heads 1..
    make a second hop around head 0's object ("what is nearest to the bed?"). The heads' column attention is the
    answer's grounding marker (supervised in SFT)."""

    heads: int = 2
    """Reader heads (≥ 2: head 0 finds the named object, the others hop from it)."""
    presence: bool = False
    """Class presence (``leovl_ros.model.presence``): a per-class logit of whether the room holds the class at all,
    from the label-anchor heads (needs label anchors), handed to the reader's geometry source per head; False in
    checkpoints made before it."""
    presence_columns: bool = False
    """With class presence: its statistics come from a classifier of the fused columns (``presence.ColumnClasses``,
    fitted by ``training/fit_presence.py``) instead of the 2D encoder's class heads averaged over each column."""
    absent_below: float = 0.0
    """With class presence: when the presence probability of the class the question names (by any phrasing,
    ``leovl.named_classes``) is below this, the answer must be an absent form ("there is no …",
    "zero", "no": ``leovl_ros.eval.normalize.ABSENT_FORMS``); 0 leaves it to the model. Set by calibration on validation
    rooms (``training/calibrate_absent.py``), not by training."""
    absent_above: float = 1.0
    """With class presence: above this presence probability the answer may not be "there is no …"; 1 leaves it to
    the model (calibrated with ``absent_below``)."""

    def __post_init__(self) -> None:
        if self.heads < 2:
            raise ValueError(f"the scene reader needs at least 2 heads (its second hop), got {self.heads}")
        if self.presence_columns and not self.presence:
            raise ValueError("reader.presence_columns feeds class presence: it needs reader.presence")
        if not 0.0 <= self.absent_below <= self.absent_above <= 1.0:
            raise ValueError("reader.absent_below and absent_above are presence probabilities with "
                             f"0 <= absent_below <= absent_above <= 1, got {self.absent_below}, {self.absent_above}")


TEXT_ENCODERS = ("minilm", "none")
"""Question encoders: the frozen pretrained MiniLM (``leovl_ros.model.text_encoder``) or none (the LLM's own word
embeddings of the question, as format-1 checkpoints)."""
COPY_WORDS = ("classes", "all")
"""What the question copy may point at (``LeoVLConfig.question_copy_words``)."""


@dataclass
class LeoVLConfig:
    """Everything needed to rebuild a LeoVLModel: CFG encoder, LLM, prompt and the 2D encoder it was trained on."""

    cfg_encoder: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``leovl_ros.cfg.encoder.CFGEncoderConfig`` (llm_dim is set from the LLM)."""
    llm: LLMConfig = field(default_factory=LLMConfig)
    """The causal LM."""
    prompt: PromptConfig = field(default_factory=PromptConfig)
    """Prompt layout."""
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    """The frozen 2D encoder whose features the CFG encoder was trained on."""
    condense: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``leovl_ros.cfg.condense.CondenseConfig`` used at training time (token budget …)."""
    use_scene: bool = True
    """False trains/answers blind (no scene tokens, no reader): the baseline."""
    scene_norm: bool = True
    """LayerNorm the scene tokens (the CFG encoder's ``out_norm``) with a gain initialised to the word embeddings'
    scale, so the projector's outputs start at the word embeddings' size instead of dwarfing them (a tiny LLM then
    learns to ignore the scene)."""
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    """The scene reader."""
    text_encoder: str = "minilm"
    """Question encoder: 'minilm' (frozen pretrained MiniLM; its projected token features are the reader's
    question side and extra prompt tokens after the question) or 'none' (the LLM's word embeddings only)."""

    question_copy: bool = False
    """A pointer over the question's tokens for every answer token after the first (``leovl_ros.model.question_copy``:
    "there is no <asked class>"); False in checkpoints made before it."""
    question_copy_words: str = "classes"
    """What the question copy may point at: 'classes' (the world's class names, ``sim.scene.CLASSES``, as whole
    words: the copy exists to name the asked class) or 'all' (any question token)."""
    answer_sets: dict[str, list[str]] = field(default_factory=dict)
    """Question type → its closed answer set; when set, an answer-type classifier on the MiniLM question features
    keeps decoding inside the sets of the likely types (``leovl_ros.model.answer_types``, fitted by
    ``training/fit_answer_types.py``). Empty: unconstrained decoding."""

    def __post_init__(self) -> None:
        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(f"model.text_encoder must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}")
        if self.answer_sets and self.text_encoder != "minilm":
            raise ValueError("model.answer_sets needs model.text_encoder: minilm (the classifier reads its features)")
        if self.question_copy_words not in COPY_WORDS:
            raise ValueError(f"model.question_copy_words must be one of {COPY_WORDS}, got {self.question_copy_words!r}")

    def cfg_encoder_config(self, llm_dim: int) -> Any:
        """The CFGEncoderConfig this describes: its cfg_encoder keys, the LLM width and the scene norm."""
        from leovl_ros.cfg.encoder import CFGEncoderConfig

        return CFGEncoderConfig(**{**self.cfg_encoder, "llm_dim": llm_dim, "out_norm": self.scene_norm})


RETIRED_READER_FLAGS = ("reader_vocab", "reader_copy", "reader_geometry", "reader_relation")
"""Format-1 switches of the reader's parts; the one architecture has them all (history: docs/experiments.md)."""


def upgrade_model_keys(data: dict[str, Any], text_encoder: str | None = None, strict: bool = True) -> dict[str, Any]:
    """LeoVLConfig values with format-1 keys mapped to today's: ``scene_reader: N`` + the four ``reader_*`` switches
    (all on) → ``reader: {heads: N}``; ``grounding`` (the retired grounding-head path) dropped when off. A reader
    variant this code no longer builds (a switch off, no reader, a grounding head) is refused with what to do, or,
    with ``strict`` off (a training preset, which builds a fresh model), becomes the one architecture with as many
    heads (at least 2). ``text_encoder`` fills that key where absent (format-1 checkpoints had none: 'none')."""
    out = dict(data)
    old = [k for k in ("scene_reader", "grounding", *RETIRED_READER_FLAGS) if k in out]
    if old:
        heads = int(out.pop("scene_reader", 0) or 0)
        flags = {k: bool(out.pop(k, False)) for k in RETIRED_READER_FLAGS}
        layer = int((out.pop("grounding", None) or {}).get("layer", -1))
        off = [k for k, v in flags.items() if not v]
        if strict and (heads < 2 or off or layer >= 0):
            raise ValueError(
                f"this config describes a retired model variant (scene_reader={heads}, off: {off}, grounding.layer="
                f"{layer}); the model has one architecture now: a scene reader with every part (`reader: {{heads: "
                f"2}}`), see docs/experiments.md for the history")
        out.setdefault("reader", {"heads": max(2, heads)})
    if text_encoder is not None:
        out.setdefault("text_encoder", text_encoder)
    return out


def from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
    """Build a (nested) dataclass from a plain dict, rejecting unknown keys with a clear error."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {unknown}")
    kwargs = {}
    for key, value in data.items():
        sub = hints.get(key)
        nested = isinstance(sub, type) and dataclasses.is_dataclass(sub) and isinstance(value, dict)
        kwargs[key] = from_dict(sub, value) if nested else value  # type: ignore[arg-type]
    return cls(**kwargs)  # type: ignore[call-arg]


def save_yaml(obj: Any, path: str | Path) -> None:
    """Write a dataclass (or dict) as YAML."""
    data = dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping (safe loader)."""
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return data
