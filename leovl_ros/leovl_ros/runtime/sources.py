"""The PyTorch sources of the engines: the 2D and CFG encoders of a checkpoint folder, or seeded fresh ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

import torch

from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER, EncoderSpec, cfg_encoder_spec, image_encoder_spec

_PREFIX = "cfg_encoder."
_DEFAULT_LLM_DIM = 256
"""Width of the tiny default LLM (``LLMConfig.hidden_size``) used for a fresh CFG encoder."""


def load_encoder_specs(
    model_dir: Optional[str | Path] = None,
    seed: int = 0,
    image_size: tuple[int, int] = (240, 320),
    fresh: bool = False,
    tokens: tuple[int, int, int] = (1, 256, 1024),
    bins: tuple[int, int, int] = (1, 10, 32),
    max_batch: int = 4,
) -> dict[str, EncoderSpec]:
    """Specs of both encoders from a checkpoint (default: the shipped model) or, with ``fresh``, seeded new ones.

    A checkpoint is ``config.yaml`` + ``model.safetensors`` (CFG encoder under ``cfg_encoder.``) + ``image_encoder/``
    (SmallCNN). With ``model_dir=None`` and no shipped model yet, fresh weights are used (recorded in the manifest).
    ``tokens`` / ``bins`` / ``max_batch``: TensorRT profile of N_G, L (min, opt, max) and of the image batch.
    """
    from leovl_ros.agent.paths import default_model_dir

    explicit = model_dir is not None
    root = Path(model_dir) if explicit else default_model_dir()
    if fresh or (not explicit and not (root / "config.yaml").is_file()):
        image_enc, cfg_enc = _fresh(seed)
        image_tag = cfg_tag = f"random-init(seed={seed})"
    else:
        image_enc, cfg_enc = _load_checkpoint(root)
        image_tag, cfg_tag = str(root / "image_encoder"), str(root)
    h, w = image_size
    specs = (image_encoder_spec(image_enc, h, w, max_batch=max_batch, weights=image_tag),
             cfg_encoder_spec(cfg_enc, tokens=tokens, bins=bins, weights=cfg_tag))
    return {s.name: s for s in specs}


def _fresh(seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Seeded untrained encoders with the default configs (for machinery checks without a trained model)."""
    from leovl_ros.cfg.encoder import CFGEncoder, CFGEncoderConfig
    from leovl_ros.model.config import ImageEncoderConfig
    from leovl_ros.model.image_encoder import SmallCNNEncoder

    torch.manual_seed(seed)
    image_enc = SmallCNNEncoder(ImageEncoderConfig()).eval()
    cfg_enc = CFGEncoder(CFGEncoderConfig(feature_dim=image_enc.feature_dim, llm_dim=_DEFAULT_LLM_DIM)).eval()
    return image_enc, cfg_enc


def _load_checkpoint(root: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """SmallCNN from ``root/image_encoder`` and the CFG encoder's weights from ``root/model.safetensors``."""
    from safetensors.torch import load_file

    from leovl_ros.cfg.encoder import CFGEncoder
    from leovl_ros.model.checkpoint import read_config
    from leovl_ros.model.image_encoder import SmallCNNEncoder

    config_file, weights_file = root / "config.yaml", root / "model.safetensors"
    if not config_file.is_file() or not weights_file.is_file():
        raise FileNotFoundError(f"no LEO-VL checkpoint at {root} (need config.yaml and model.safetensors)")
    state = {k[len(_PREFIX) :]: v for k, v in load_file(str(weights_file)).items() if k.startswith(_PREFIX)}
    if not state:
        raise ValueError(f"{weights_file} holds no '{_PREFIX}*' tensors")
    llm_dim = int(state["projector.3.weight"].shape[0])  # last Linear of the projector: LLM width
    cfg_enc = CFGEncoder(read_config(root).cfg_encoder_config(llm_dim))
    try:
        cfg_enc.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{weights_file}: CFG encoder weights do not fit config.yaml: {exc}") from exc
    return SmallCNNEncoder.load(root / "image_encoder"), cfg_enc.eval()


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options shared by the engine scripts: which weights, image size and TensorRT profile."""
    parser.add_argument("--model-dir", type=Path, help="checkpoint folder (default: the shipped models/default)")
    parser.add_argument("--fresh", action="store_true", help="use seeded untrained encoders instead of a checkpoint")
    parser.add_argument("--seed", type=int, default=0, help="seed of --fresh weights and of the test inputs")
    parser.add_argument("--image-size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"),
                        help="2D encoder input size (fixed in the export; batch is dynamic)")
    parser.add_argument("--tokens", type=int, nargs=3, default=(1, 256, 1024), metavar=("MIN", "OPT", "MAX"),
                        help="TensorRT profile of N_G, the number of CFG column tokens")
    parser.add_argument("--bins", type=int, nargs=3, default=(1, 10, 32), metavar=("MIN", "OPT", "MAX"),
                        help="TensorRT profile of L, the bins per column")
    parser.add_argument("--max-batch", type=int, default=4, help="largest image batch of the 2D encoder engine")
    names = (IMAGE_ENCODER, CFG_ENCODER)
    parser.add_argument("--which", nargs="+", choices=names, default=names, help="encoders to process")


def specs_from_arguments(args: argparse.Namespace) -> list[EncoderSpec]:
    """The specs selected by ``add_source_arguments`` options."""
    specs = load_encoder_specs(args.model_dir, seed=args.seed, image_size=tuple(args.image_size), fresh=args.fresh,
                               tokens=tuple(args.tokens), bins=tuple(args.bins), max_batch=args.max_batch)
    return [specs[name] for name in args.which]
