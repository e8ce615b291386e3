"""Training configs (dataclasses, one docstring per field), YAML presets and reproducible run folders."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.model.config import from_dict, load_yaml, save_yaml

PRESET_DIR = Path(__file__).resolve().parent / "presets"
PRECISIONS = ("float32", "bfloat16")
"""Compute precisions a preset may ask for."""


@dataclass
class DataConfig:
    """Synthetic data: which scenes, how they are rendered, fused and condensed, and how many samples."""

    train_scenes: int = 200
    """Training scenes (train-split seeds, taken in order from seed 0)."""
    test_scenes: int = 50
    """Held-out scenes (test-split seeds); never used for training."""
    stage1_scenes: int = 20
    """Scenes whose frames train the 2D encoder (train split)."""
    stage1_frames: int = 12
    """Frames per stage-1 scene."""
    frames: int = 48
    """Frames rendered per scene for fusion (a robot-like walk looking around)."""
    width: int = 320
    """Render width (pixels)."""
    height: int = 240
    """Render height (pixels)."""
    voxel_size: float = 0.05
    """Voxel store resolution (metres)."""
    condense: dict[str, Any] = field(default_factory=lambda: {"budget": 256})
    """CondenseConfig keyword arguments (token budget for synthetic rooms)."""
    tasks: dict[str, Any] = field(default_factory=lambda: {"qa_per_type": 6, "situations": 3})
    """TaskConfig keyword arguments for training samples."""
    heldout_questions: int = 2000
    """Questions in the held-out QA set."""
    heldout_min_scenes: int = 50
    """Held-out scenes the QA set must draw from."""
    tokenizer_scenes: int = 30
    """Scenes whose samples train the tokenizer's merges."""
    workers: int = 2
    """Processes that render/fuse scenes in parallel."""
    appearance: dict[str, Any] = field(default_factory=dict)
    """Camera-like randomisation of rendered frames, stage 1 and scenes alike: ``AppearanceConfig`` keyword
    arguments (``leovl_ros.sim.appearance``; empty = the flat-shaded renderer)."""
    appearance_share: float = 1.0
    """Share of rooms rendered with ``appearance`` (picked per room seed by a fixed hash, the same in every split
    and stage); the others are rendered flat, so one model learns both worlds."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.appearance_share <= 1.0:
            raise ValueError(f"data.appearance_share must lie in [0, 1], got {self.appearance_share}")


@dataclass
class Stage1Config:
    """Stage 1: the SmallCNN 2D encoder on per-cell class/colour targets from rendered instance ids."""

    steps: int = 300
    """Optimiser steps."""
    batch_size: int = 16
    """Frames per step (per process)."""
    lr: float = 3e-3
    """AdamW learning rate."""
    colour_weight: float = 1.0
    """Weight of the colour loss next to the class loss."""
    crop_cells: tuple[int, int] = (24, 32)
    """Random training crop, feature cells (×8 pixels): large enough that a cell sees its object's context."""
    balance: float = 0.5
    """Class/colour loss weights ∝ frequency^-balance (0 = plain cross-entropy): floor and wall cells outnumber
    object cells ~3:1, and an unweighted loss learns the background first and the objects barely."""
    heldout_frac: float = 0.1
    """Last fraction of the frames (whole scenes, never trained on) kept for the stage-1 accuracies."""
    encoder: str = ""
    """A trained 2D encoder folder to use as it is (relative to the repository root, e.g. the shipped
    ``models/default/image_encoder``) instead of training one: the recipe then skips stage 1 and its frames."""


@dataclass
class SFTConfig:
    """Stage 2: supervised fine-tuning of CFG encoder + projector + LLM on all task families."""

    steps: int = 2000
    """Optimiser steps."""
    batch_size: int = 32
    """Sequences per step (per process)."""
    lr: float = 1e-3
    """Peak AdamW learning rate (linear warm-up, cosine decay)."""
    warmup: int = 100
    """Warm-up steps."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clip."""
    tasks: list[str] = field(
        default_factory=lambda: ["qa", "situated_qa", "object_caption", "scene_caption", "dialogue"])
    """Task families trained on."""
    grounding_weight: float = 0.0
    """Weight of the grounding loss: -log of the scene reader's column attention mass on the asked objects'
    columns (head 0 on the first asked object, the others on the rest where the roles differ)."""
    evidence_weight: float = 0.0
    """Weight of the scene reader's soft-word loss: −log of its heads' (and its geometry source's) probability of
    the answer's first token, so the evidence says the answer word before the LLM has learned to read it."""
    presence_weight: float = 0.0
    """Weight of the class-presence loss (a model with ``reader.presence``): binary cross-entropy of each room's
    per-class presence logits against the classes placed in it (synthetic rooms; others carry no labels)."""
    log_every: int = 20
    """Steps between loss log points."""
    save_every: int = 500
    """Steps between resumable checkpoints."""


@dataclass
class DPOConfig:
    """Stage 3: SceneDPO, L = w_a·L_a + w_s·L_s + L_NLL against a frozen copy of the SFT model."""

    steps: int = 300
    """Optimiser steps (0 skips the stage)."""
    batch_size: int = 16
    """Question samples per step (per process)."""
    lr: float = 1e-4
    """AdamW learning rate."""
    beta: float = 0.1
    """DPO temperature."""
    w_a: float = 1.0
    """Weight of the answer contrast (wrong answer, true scene)."""
    w_s: float = 1.0
    """Weight of the scene contrast (true answer, another scene's tokens)."""
    log_every: int = 10
    """Steps between loss log points."""


@dataclass
class EvalConfig:
    """Evaluation on held-out scenes."""

    max_questions: int = 0
    """Cap on evaluated QA questions, evenly spaced over the set (0 = all)."""
    max_captions: int = 200
    """Caption samples scored for CIDEr."""
    max_new_tokens: int = 48
    """Answer token cap during evaluation."""
    presence_rooms: int = 2000
    """Training rooms the recipe fits the column classifier of class presence on (``training/fit_presence.py``,
    after SceneDPO, before the absent gate's calibration); 0 keeps presence on the 2D encoder's class heads."""
    answer_type_rooms: int = 200
    """Training-split rooms whose generated questions the recipe fits the answer-type classifier on
    (``training/fit_answer_types.py``, after the presence fit; decoding then keeps to the likely types' answer
    sets); 0 leaves decoding unconstrained."""
    absent_gate_rooms: int = 60
    """Validation-split rooms the recipe calibrates the absent gate on (``training/calibrate_absent.py``, before
    evaluation); 0 leaves the gate off."""
    absent_gate_questions: int = 2400
    """Questions asked over those rooms."""


@dataclass
class RecipeConfig:
    """A whole training run: data, model shape, the three stages and evaluation."""

    name: str = "default"
    """Preset name."""
    seed: int = 0
    """Global random seed."""
    data: DataConfig = field(default_factory=DataConfig)
    """Data generation."""
    model: dict[str, Any] = field(default_factory=dict)
    """LeoVLConfig overrides (llm, cfg_encoder, prompt …) as a nested mapping."""
    image_encoder: dict[str, Any] = field(default_factory=lambda: {"feature_dim": 32, "width": 32})
    """ImageEncoderConfig overrides for the SmallCNN."""
    label_anchors: bool = False
    """Give the CFG encoder label anchors: the stage-1 class/colour heads + embeddings of the label names."""
    stage1: Stage1Config = field(default_factory=Stage1Config)
    """Stage 1."""
    sft: SFTConfig = field(default_factory=SFTConfig)
    """Stage 2."""
    dpo: DPOConfig = field(default_factory=DPOConfig)
    """Stage 3."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Evaluation."""
    precision: str = "float32"
    """Compute precision of stages 2-3: 'float32', or 'bfloat16' (the LLM's forward under autocast on the run's
    device over float32 master weights: about half its activation memory and the GPU's bf16 tensor cores)."""

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")


def load_preset(name_or_path: str) -> RecipeConfig:
    """A preset by name (training/presets/NAME.yaml) or a YAML file path; a preset with ``base: OTHER`` is OTHER
    with its own values laid over it (nested sections merged key by key), so an ablation states only its change."""
    return from_dict(RecipeConfig, _preset_values(name_or_path, ()))


def _preset_values(name_or_path: str, seen: tuple[str, ...]) -> dict[str, Any]:
    """The preset's YAML values with its ``base`` chain resolved (cycles are an error)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no preset {name_or_path!r} (known: {known})")
    if str(path.resolve()) in seen:
        raise ValueError(f"preset base cycle: {' -> '.join(seen + (str(path),))}")
    values = load_yaml(path)
    base = values.pop("base", None)
    if base is None:
        return values
    return _merged(_preset_values(str(base), seen + (str(path.resolve()),)), values)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid over ``base``: dicts merge recursively, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def git_sha() -> str:
    """The repository's HEAD commit (or 'unknown' outside git / before the first commit)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save_run_config(config: Any, run_dir: Path, extra: dict[str, Any] | None = None) -> None:
    """Write the resolved config + git SHA + time into the run folder (config.yml)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    data = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    data["_run"] = {"git_sha": git_sha(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(extra or {})}
    save_yaml(data, run_dir / "config.yml")


def config_changes(config: Any, run_dir: Path) -> list[str]:
    """How ``config`` differs from the one a run folder was made with (its config.yml), as "key: old → new" lines;
    none when the folder holds no config yet. A recipe resumes finished steps by their outputs, so a changed preset
    would otherwise mix an old run's data or models into a new one without a word."""
    import yaml

    saved = run_dir / "config.yml"
    if not saved.is_file():
        return []
    old = {k: v for k, v in load_yaml(saved).items() if k != "_run"}
    new = yaml.safe_load(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))  # YAML's types, as saved

    def leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
        if not isinstance(tree, dict):
            return {prefix: tree}
        return {k: v for key, sub in tree.items() for k, v in leaves(sub, f"{prefix}{key}.").items()} or {prefix: {}}

    before, after = leaves(old), leaves(new)
    return [f"{key.rstrip('.')}: {before.get(key, '(unset)')} → {after.get(key, '(unset)')}"
            for key in sorted(set(before) | set(after)) if before.get(key, "(unset)") != after.get(key, "(unset)")]
