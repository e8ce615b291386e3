"""Frozen 2D encoders that turn RGB frames into per-patch feature maps for the voxel store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, Union, runtime_checkable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from leovl_ros.model.config import ImageEncoderConfig

ImageInput = Union[np.ndarray, torch.Tensor]

_MEAN = (0.5, 0.5, 0.5)
_STD = (0.25, 0.25, 0.25)


@runtime_checkable
class ImageEncoder(Protocol):
    """What the fusion pipeline needs from a 2D encoder."""

    feature_dim: int
    stride: int

    def encode(self, rgb: ImageInput) -> torch.Tensor:
        """H×W×3 or [B,H,W,3] uint8 → float32 [B, D, h, w] features (no grad)."""
        ...


def to_batch(rgb: ImageInput) -> torch.Tensor:
    """Accept H×W×3 / B×H×W×3 uint8 (numpy or torch) and return a float [B,3,H,W] tensor in 0–1."""
    t = torch.from_numpy(np.ascontiguousarray(rgb)) if isinstance(rgb, np.ndarray) else rgb
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected H×W×3 or B×H×W×3 RGB, got shape {tuple(t.shape)}")
    if t.dtype != torch.uint8:
        raise ValueError(f"expected uint8 RGB, got {t.dtype}")
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def _conv(cin: int, cout: int, stride: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    """x + block(x): the context convolutions refine the stem's features instead of replacing them."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class SmallCNNEncoder(nn.Module):
    """Stride-8 CNN (default encoder): features for fusion plus class/colour heads used to train it in stage 1."""

    stride = 8

    def __init__(self, config: ImageEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or ImageEncoderConfig()
        w = self.config.width
        self.feature_dim = self.config.feature_dim
        self.backbone = nn.Sequential(
            _conv(3, w // 2, 2), _conv(w // 2, w, 2), _conv(w, w, 1), _conv(w, 2 * w, 2), _conv(2 * w, 2 * w, 1),
            *(_Residual(_conv(2 * w, 2 * w, 1, dilation=2 ** (i + 1))) for i in range(self.config.context_layers)),
        )
        self.proj = nn.Conv2d(2 * w, self.feature_dim, 1)
        self.class_head = nn.Conv2d(self.feature_dim, self.config.num_classes, 1)
        self.colour_head = nn.Conv2d(self.feature_dim, self.config.num_colours, 1)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Float [B,3,H,W] in 0–1 → [B, D, H/8, W/8] features (bounded by tanh so fused means stay tame)."""
        return torch.tanh(self.proj(self.backbone((x - self.mean) / self.std)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: features, class logits and colour logits per feature cell."""
        f = self.features(x)
        return f, self.class_head(f), self.colour_head(f)

    @torch.no_grad()
    def encode(self, rgb: ImageInput) -> torch.Tensor:
        """Uint8 RGB → float32 [B, D, h, w] features, eval mode, no grad."""
        if self.training:
            self.eval()
        return self.features(to_batch(rgb).to(self.mean.device)).float()

    def save(self, path: str | Path) -> None:
        """Write weights (safetensors) + config (JSON) to a folder."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path / "image_encoder.safetensors"))
        (path / "image_encoder.json").write_text(json.dumps(vars(self.config), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> SmallCNNEncoder:
        """Load a SmallCNN saved by ``save`` (clear error on a missing or mismatched file)."""
        from safetensors.torch import load_file

        path = Path(path)
        cfg_file, weights = path / "image_encoder.json", path / "image_encoder.safetensors"
        if not cfg_file.is_file() or not weights.is_file():
            raise FileNotFoundError(f"no SmallCNN encoder in {path} (need image_encoder.json + .safetensors)")
        data = json.loads(cfg_file.read_text())
        data.update(kind="small_cnn", path=str(path))
        model = cls(ImageEncoderConfig(**data))
        try:
            model.load_state_dict(load_file(str(weights)))
        except RuntimeError as exc:
            raise ValueError(f"SmallCNN weights in {path} do not match its config: {exc}") from exc
        return model.eval()


class HFVisionEncoder(nn.Module):
    """A transformers vision tower (SigLIP / CLIP / DINOv2 class) from a local path; patch tokens → feature map."""

    def __init__(self, path: str | Path, image_size: int | None = None) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path))
        self.tower = getattr(model, "vision_model", model)
        vcfg = getattr(config, "vision_config", config)
        self.patch = int(vcfg.patch_size)
        self.image_size = int(image_size or getattr(vcfg, "image_size", 224))
        self.feature_dim = int(vcfg.hidden_size)
        self.stride = self.patch
        mean, std = _processor_stats(Path(path))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Float [B, 3, H, W] in 0–1 → [B, D, s/p, s/p] (traceable: the forward the ONNX/TensorRT export runs)."""
        x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        tokens = self.tower(pixel_values=(x - self.mean) / self.std).last_hidden_state
        g = self.image_size // self.patch
        patches = tokens[:, tokens.shape[1] - g * g :]  # drop CLS / register tokens at the front
        return patches.transpose(1, 2).reshape(x.shape[0], -1, g, g).float()

    @torch.no_grad()
    def encode(self, rgb: ImageInput) -> torch.Tensor:
        """Uint8 RGB → [B, D, s/p, s/p] patch features (image resized to the tower's square input)."""
        return self.features(to_batch(rgb).to(self.mean.device))


def _processor_stats(path: Path) -> tuple[list[float], list[float]]:
    """Image mean/std from a saved preprocessor_config.json, else 0.5/0.5."""
    pp = path / "preprocessor_config.json"
    if pp.is_file():
        data = json.loads(pp.read_text())
        return list(data.get("image_mean", [0.5] * 3)), list(data.get("image_std", [0.5] * 3))
    return [0.5] * 3, [0.5] * 3


def load_image_encoder(config: ImageEncoderConfig | None = None) -> nn.Module:
    """Build the configured 2D encoder: a saved/new SmallCNN or a transformers tower from a local path."""
    config = config or ImageEncoderConfig()
    if config.kind == "hf":
        return HFVisionEncoder(config.path, config.image_size)  # type: ignore[arg-type]
    if config.path:
        return SmallCNNEncoder.load(config.path)
    return SmallCNNEncoder(config).eval()
