"""Checkpoints: model.safetensors + config.yaml (with versions) + tokenizer.json; loading checks them clearly."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from leovl_ros.model.config import LeoVLConfig, from_dict, load_yaml, save_yaml, upgrade_model_keys
from leovl_ros.model.leovl import LeoVLModel
from leovl_ros.model.presence import upgrade_presence_weights

FORMAT_VERSION = 2
"""Bumped when the checkpoint layout changes; newer files are refused with a clear message, older ones upgraded
where this code can (format 1: the reader switches become ``reader``, no text encoder)."""
READABLE_FORMATS = (1, 2)
"""Checkpoint formats this code reads."""


def _unique_state(model: torch.nn.Module, trainable_only: bool, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """State dict without tied duplicates (and, for a LoRA model, without the frozen parameters: the base LLM's
    weights, which come from its own folder), floats as dtype."""
    seen: set[int] = set()
    frozen = frozen_llm_weights(model) if trainable_only else set()
    out = {}
    for name, t in model.state_dict(keep_vars=False).items():
        if name in frozen:
            continue
        if t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        out[name] = (t.to(dtype) if t.is_floating_point() else t).detach().cpu().contiguous()
    return out


def frozen_llm_weights(model: torch.nn.Module) -> set[str]:
    """State names of the LLM's frozen parameters and their tied aliases (a LoRA model's base weights, e.g. a tied
    lm_head: they load from the pretrained folder, so checkpoints and resume states leave them out — a float16 copy
    of a tied head would round the frozen embeddings on load)."""
    frozen = {p.data_ptr() for p in model.llm.parameters() if not p.requires_grad}
    return {n for n, t in model.llm.state_dict(prefix="llm.").items() if t.data_ptr() in frozen}


def save_checkpoint(model: LeoVLModel, path: str | Path, extra: dict[str, Any] | None = None,
                    dtype: torch.dtype = torch.float16) -> Path:
    """Write the checkpoint folder atomically per file (temp file + rename); weights stored as ``dtype``
    (float16 by default: half the size, loaded back into float32 parameters)."""
    import transformers
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    lora = bool(model.config.llm.pretrained_path and model.config.llm.use_lora)
    meta = {"format_version": str(FORMAT_VERSION), "torch": torch.__version__, "transformers": transformers.__version__}
    _atomic(path / "model.safetensors", lambda f: save_file(_unique_state(model, lora, dtype), f, metadata=meta))
    data = {"format_version": FORMAT_VERSION, **dataclasses.asdict(model.config), "extra": extra or {}}
    requires = {}
    if model.question_encoder is not None:  # the frozen encoder's weights come from this package, not the folder
        from leovl_ros.model.text_encoder import requirement

        requires["text_encoder"] = requirement()
    if model.config.llm.pretrained_path:  # the frozen LLM's weights come from that folder, not this one
        from leovl_ros.model.llm import pretrained_identity

        requires["llm"] = pretrained_identity(model.config.llm)
    if requires:
        data["requires"] = requires
    _atomic(path / "config.yaml", lambda f: save_yaml(data, f))
    if not model.config.llm.pretrained_path:
        _atomic(path / "tokenizer.json", lambda f: model.tokenizer.backend_tokenizer.save(f))
    return path


def _atomic(target: Path, write: Any) -> None:
    """Write through a temp file in the same folder, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rebuilt_with(model: LeoVLModel, config: LeoVLConfig, part: str) -> LeoVLModel:
    """``model`` rebuilt with ``config``, which adds or changes the module ``part`` (e.g. ``"column_classes"``):
    every other weight is kept and ``part`` starts anew, to be fitted (a refit never starts from an old fit). In
    eval mode; raises when the two models differ beyond ``part``."""
    rebuilt = LeoVLModel(config, model.tokenizer, llm=model.llm)
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith(f"{part}.")}
    missing, unexpected = rebuilt.load_state_dict(kept, strict=False)
    if unexpected or any(not k.startswith(f"{part}.") for k in missing):
        raise RuntimeError(f"checkpoint and rebuilt model differ beyond {part}: {missing + unexpected}")
    return rebuilt.eval()


def save_in_place(model: LeoVLModel, path: str | Path) -> Path:
    """Save a refitted model over its checkpoint folder, keeping the folder's ``extra`` (the stage it came from)."""
    return save_checkpoint(model, path, extra=load_yaml(Path(path) / "config.yaml").get("extra", {}))


def update_config(path: str | Path, section: str, values: dict[str, Any]) -> LeoVLConfig:
    """Rewrite fields of one section of a checkpoint's config.yaml (a calibration's result; the weights stay) and
    return the config read back (so a value its dataclass refuses never lands)."""
    path = Path(path)
    data = load_yaml(path / "config.yaml")
    data[section] = {**data.get(section, {}), **values}
    config = _config_from(data, path)  # raises before anything is written
    _atomic(path / "config.yaml", lambda f: save_yaml(data, f))
    return config


def read_config(path: str | Path) -> LeoVLConfig:
    """The LeoVLConfig of a checkpoint folder (refuses unknown format versions)."""
    path = Path(path)
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(f"no LEO-VL checkpoint at {path} (config.yaml missing); train one with "
                                "training/recipe.py")
    return _config_from(load_yaml(path / "config.yaml"), path)


def _config_from(data: dict[str, Any], path: Path) -> LeoVLConfig:
    """The LeoVLConfig of a checkpoint's config.yaml contents (``path`` names it in errors)."""
    data = dict(data)
    version = data.pop("format_version", None)
    data.pop("extra", None)
    data.pop("requires", None)  # checked where the encoder loads (leovl_ros.model.text_encoder)
    if version not in READABLE_FORMATS:
        raise ValueError(f"{path}: checkpoint format {version}, this code reads formats {READABLE_FORMATS}")
    if version == 1:
        try:
            data = upgrade_model_keys(data, text_encoder="none")
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e
    return from_dict(LeoVLConfig, data)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> LeoVLModel:
    """Rebuild the model from its config and load weights, with clear errors on missing files or shape mismatch."""
    from safetensors.torch import load_file

    from leovl_ros.model.llm import load_pretrained_tokenizer
    from leovl_ros.model.tokenizer import load_tokenizer

    path = Path(path)
    config = read_config(path)
    if config.llm.pretrained_path:
        _check_base_llm(path, config)
    tokenizer = load_pretrained_tokenizer(config.llm) if config.llm.pretrained_path else load_tokenizer(path)
    model = LeoVLModel(config, tokenizer)
    if model.question_encoder is not None:
        model.question_encoder.frozen()  # a missing or different text encoder fails here, naming its package
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{path}: model.safetensors missing")
    state = upgrade_presence_weights(load_file(str(weights)))  # checkpoints before 2026-12-06 load unchanged
    own = model.state_dict()
    bad = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
           for k, v in state.items() if k in own and own[k].shape != v.shape]
    unexpected = sorted(set(state) - set(own))
    if bad or unexpected:
        raise ValueError(f"{path}: weights do not fit the config — shape mismatches {bad[:5]}, "
                         f"unknown keys {unexpected[:5]}")
    model.load_state_dict(state, strict=False)
    missing = set(own) - set(state) - _aliases(model)
    if config.llm.pretrained_path and config.llm.use_lora:  # the frozen base LLM comes from its own folder
        missing -= frozen_llm_weights(model)
    if missing:
        raise ValueError(f"{path}: weights missing for {sorted(missing)[:5]} ({len(missing)} tensors)")
    return model.to(device).eval()


def _check_base_llm(path: Path, config: LeoVLConfig) -> None:
    """Refuse a checkpoint whose pretrained LLM folder now holds another model than the one it was trained on."""
    from leovl_ros.model.llm import pretrained_identity

    recorded = (load_yaml(path / "config.yaml").get("requires") or {}).get("llm")
    found = pretrained_identity(config.llm)
    if recorded is not None and recorded != found:
        raise ValueError(f"{path}: trained on a pretrained LLM with {recorded}, but {config.llm.pretrained_path} "
                         f"holds {found}; point llm.pretrained_path at the model it was trained on")


def _aliases(model: torch.nn.Module) -> set[str]:
    """Names of state tensors that share storage with an earlier one (tied embeddings)."""
    seen: set[int] = set()
    alias = set()
    for name, t in model.state_dict().items():
        if t.data_ptr() in seen:
            alias.add(name)
        seen.add(t.data_ptr())
    return alias
