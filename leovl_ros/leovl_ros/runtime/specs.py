"""What an exportable encoder looks like to the runtimes: named tensors, dynamic dims, TensorRT profile, samples.

An ``EncoderSpec`` pairs a PyTorch module whose ``forward`` takes the named inputs positionally with the
tensor names and shapes that ONNX, TensorRT and ONNX Runtime bind to (Isaac ROS's "binding names"). Dynamic
dimensions are named strings ("B", "N", "L"); ``profile`` gives each one's TensorRT (min, opt, max).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import torch
from torch import nn

Dim = Union[int, str]
"""A tensor dimension: a fixed size or the name of a dynamic axis."""

IMAGE_ENCODER = "image_encoder"
"""Spec name of the 2D encoder (image → feature map)."""
CFG_ENCODER = "cfg_encoder"
"""Spec name of the CFG encoder (column tokens → LLM-width embeddings)."""


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output tensor."""

    name: str
    """Binding name (ONNX graph input/output, TensorRT I/O tensor)."""
    dtype: str
    """'float32' or 'bool' (torch dtype name without the prefix)."""
    shape: tuple[Dim, ...]
    """Sizes; a string names a dynamic axis."""

    def resolve(self, dims: dict[str, int]) -> tuple[int, ...]:
        """Concrete shape with every dynamic axis replaced by ``dims[name]``."""
        return tuple(dims[d] if isinstance(d, str) else int(d) for d in self.shape)

    def to_json(self) -> dict:
        """Plain-JSON form (for manifests)."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass
class EncoderSpec:
    """An exportable module with its named I/O, dynamic axes, TensorRT profile and a sample-input generator."""

    name: str
    """Model name: file stem of the .onnx / .engine and key in logs."""
    module: nn.Module
    """Eval-mode module; ``forward(*inputs in spec order)`` returns one tensor per output."""
    inputs: list[TensorSpec]
    """Inputs in ``forward`` order."""
    outputs: list[TensorSpec]
    """Outputs in return order."""
    profile: dict[str, tuple[int, int, int]]
    """TensorRT optimisation profile: dynamic axis name → (min, opt, max)."""
    sampler: Callable[[dict[str, int], int], dict[str, torch.Tensor]] = field(repr=False)
    """(dims, seed) → realistic random inputs at those dynamic sizes (CPU tensors)."""
    weights: str = "random-init"
    """Where the weights came from (checkpoint path or 'random-init(seed=…)'), recorded in manifests."""

    @property
    def input_names(self) -> list[str]:
        """Input binding names in order."""
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Output binding names in order."""
        return [t.name for t in self.outputs]

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """``torch.onnx.export``'s dynamic_axes: binding name → {axis index: axis name}."""
        return {
            t.name: {i: d for i, d in enumerate(t.shape) if isinstance(d, str)}
            for t in [*self.inputs, *self.outputs]
            if any(isinstance(d, str) for d in t.shape)
        }

    def dims(self, which: str = "opt") -> dict[str, int]:
        """Dynamic sizes at one end of the profile: 'min', 'opt' or 'max'."""
        idx = ("min", "opt", "max").index(which)
        return {name: rng[idx] for name, rng in self.profile.items()}

    def sample(self, dims: dict[str, int] | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
        """Random inputs at ``dims`` (default: the profile's opt sizes)."""
        return self.sampler({**self.dims("opt"), **(dims or {})}, seed)

    def signature(self) -> dict:
        """Names, dtypes and shapes of all I/O (what an ONNX file must match to be reused)."""
        return {"inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs]}


class ImageFeatures(nn.Module):
    """Export wrapper of a 2D encoder: float [B,3,H,W] image in 0–1 → [B, D, h, w] features."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        if not hasattr(encoder, "features"):
            name = type(encoder).__name__
            raise TypeError(f"{name} has no features(image) method; only SmallCNN-style encoders export")
        self.encoder = encoder

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Normalised features, as ``encoder.encode`` computes them after uint8 → float conversion."""
        return self.encoder.features(image)


def image_encoder_spec(
    encoder: nn.Module, height: int = 240, width: int = 320, max_batch: int = 4, weights: str = "random-init"
) -> EncoderSpec:
    """Spec of a SmallCNN-style 2D encoder at a fixed image size (batch is the dynamic axis)."""
    def sampler(dims: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        img = torch.randint(0, 256, (dims["B"], 3, height, width), generator=g, dtype=torch.uint8)
        return {"image": img.float() / 255.0}

    module = ImageFeatures(encoder).eval()
    with torch.inference_mode():
        _, d, h, w = module(sampler({"B": 1}, 0)["image"]).shape  # feature-map size depends on the architecture
    return EncoderSpec(
        name=IMAGE_ENCODER,
        module=module,
        inputs=[TensorSpec("image", "float32", ("B", 3, height, width))],
        outputs=[TensorSpec("features", "float32", ("B", d, h, w))],
        profile={"B": (1, 1, max_batch)},
        sampler=sampler,
        weights=weights,
    )


def cfg_encoder_spec(
    encoder: nn.Module,
    tokens: tuple[int, int, int] = (1, 256, 1024),
    bins: tuple[int, int, int] = (1, 10, 32),
    weights: str = "random-init",
) -> EncoderSpec:
    """Spec of the CFG encoder: N column tokens (``tokens`` profile) × L bins (``bins`` profile)."""
    c = encoder.config

    def sampler(dims: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
        n, length = dims["N"], dims["L"]
        g = torch.Generator().manual_seed(seed)
        valid = torch.randint(1, length + 1, (n, 1), generator=g)
        mask = torch.arange(length).unsqueeze(0) < valid  # bottom-up bins, at least one per column
        heights = (torch.arange(length, dtype=torch.float32) + 0.5) * 0.3 + 0.02 * torch.randn(n, length, generator=g)
        counts = torch.randint(1, 200, (n, length), generator=g).float()
        return {
            "features": torch.tanh(torch.randn(n, length, c.feature_dim, generator=g)) * mask.unsqueeze(-1),
            "heights": heights * mask,
            "weights": counts * mask,
            "mask": mask,
            "xy": torch.rand(n, 2, generator=g) * 8.0 - 1.0,
            "cell_size": 0.3 * 2.0 ** torch.randint(-1, 3, (n,), generator=g).float(),
        }

    return EncoderSpec(
        name=CFG_ENCODER,
        module=encoder.eval(),
        inputs=[
            TensorSpec("features", "float32", ("N", "L", c.feature_dim)),
            TensorSpec("heights", "float32", ("N", "L")),
            TensorSpec("weights", "float32", ("N", "L")),
            TensorSpec("mask", "bool", ("N", "L")),
            TensorSpec("xy", "float32", ("N", 2)),
            TensorSpec("cell_size", "float32", ("N",)),
        ],
        outputs=[TensorSpec("tokens", "float32", ("N", c.llm_dim))],
        profile={"N": tokens, "L": bins},
        sampler=sampler,
        weights=weights,
    )
