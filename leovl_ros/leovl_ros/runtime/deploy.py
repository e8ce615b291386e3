"""The nodes' side of the deployed encoders: Isaac ROS parameters → ``select_backend`` → a drop-in encoder.

The fusion node runs its 2D encoder and the dialogue node its CFG encoder through ``leovl_ros.runtime`` with the
parameter names of Isaac ROS's TensorRT node (``DeployConfig``): ``backend`` (``auto`` = ``DEFAULT_PREFERENCE``,
TensorRT → ONNX Runtime CUDA → ONNX Runtime CPU → PyTorch, each unusable one skipped with its reason; or one of
those names, which then must work or the node fails to start), ``model_file_path`` (the ONNX file, exported from
the loaded PyTorch weights on first launch and again whenever its manifest says it is stale),
``engine_file_path`` (the TensorRT FP16 plan, built on a GPU when missing, stale or forced) and
``force_engine_update``. Empty paths default under ``$ROS_HOME/leovl_engines`` (``~/.ros/leovl_engines``), never
inside the installed package. ``describe`` is the one line the start-up log and ``~/status`` carry.
ROS-free (the nodes declare the parameters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from leovl_ros.runtime.backends import DEFAULT_PREFERENCE, BackendConfig, EncoderBackend, select_backend
from leovl_ros.runtime.specs import EncoderSpec

BACKEND_CHOICES = ("auto", *DEFAULT_PREFERENCE)
"""Values of the ``backend`` parameter."""


@dataclass
class DeployConfig:
    """Isaac ROS TensorRT-node parameters of one deployed encoder."""

    backend: str = "auto"
    """'auto' (the runtime's preference order, falling back with reasons) or one backend name (strict)."""
    model_file_path: str = ""
    """ONNX file; '' = ``engine_dir()/<encoder>.onnx``. (Re-)exported when missing or stale."""
    engine_file_path: str = ""
    """TensorRT plan; '' = next to the ONNX file as ``<stem>.fp16.engine``."""
    force_engine_update: bool = False
    """Rebuild the TensorRT engine even when its manifest says it is current."""

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_CHOICES:
            raise ValueError(f"backend must be one of {BACKEND_CHOICES}, got {self.backend!r}")

    def preference(self) -> tuple[str, ...]:
        """Backends to try, in order."""
        return DEFAULT_PREFERENCE if self.backend == "auto" else (self.backend,)

    def backend_config(self, stem: str, device: Optional[str] = None, threads: Optional[int] = None) -> BackendConfig:
        """The runtime's ``BackendConfig``, default paths filled in under ``engine_dir()``."""
        onnx = Path(self.model_file_path).expanduser() if self.model_file_path else engine_dir() / f"{stem}.onnx"
        engine = str(Path(self.engine_file_path).expanduser()) if self.engine_file_path else None
        return BackendConfig(model_file_path=str(onnx), engine_file_path=engine,
                             force_engine_update=self.force_engine_update, precision="fp16", device=device,
                             threads=threads)


def engine_dir() -> Path:
    """``$ROS_HOME/leovl_engines``, else ``~/.ros/leovl_engines`` (where ROS keeps per-user state; never the
    package's share or source folder, which may be read-only)."""
    root = os.environ.get("ROS_HOME") or str(Path.home() / ".ros")
    return Path(root).expanduser() / "leovl_engines"


def describe(backend: EncoderBackend) -> str:
    """``'<name> [what was done] (skipped a: why; b: why)'``: the start-up log line and the ``~/status`` text."""
    text = backend.name + (f" [{backend.detail}]" if backend.detail else "")
    if backend.fallbacks:
        text += " (skipped " + "; ".join(f"{n}: {r}" for n, r in backend.fallbacks) + ")"
    return text


def deploy(spec: EncoderSpec, config: DeployConfig, stem: str, device: Optional[str] = None,
           threads: Optional[int] = None) -> EncoderBackend:
    """``select_backend`` for ``spec`` under ``config`` (``BackendUnavailable`` when a strict choice fails)."""
    return select_backend(spec, config.preference(), config.backend_config(stem, device, threads))


class DeployedImageEncoder:
    """The 2D-encoder contract fusion uses (``feature_dim``, ``stride``, ``encode``) over a selected backend.

    Only SmallCNN-style encoders (a ``features(image)`` method) export; others stay in PyTorch, said in ``detail``.
    """

    def __init__(self, encoder: Any, image_hw: tuple[int, int], config: DeployConfig,
                 threads: Optional[int] = None) -> None:
        """Select a backend for ``encoder`` at the fixed input size ``image_hw`` (H, W)."""
        from leovl_ros.runtime.image_backend import BackendImageEncoder
        from leovl_ros.runtime.specs import image_encoder_spec

        self.source = encoder
        self.feature_dim = int(encoder.feature_dim)
        self.stride = int(getattr(encoder, "stride", 1))
        self.backend: Optional[EncoderBackend] = None
        if not hasattr(encoder, "features"):
            if config.backend not in ("auto", "pytorch"):
                raise ValueError(f"backend {config.backend!r}: {type(encoder).__name__} does not export (only "
                                 f"SmallCNN-style encoders do); use backend auto or pytorch")
            self.description = f"pytorch (skipped the exported runtimes: {type(encoder).__name__} does not export)"
            self._encode = encoder.encode
            return
        h, w = image_hw
        spec = image_encoder_spec(encoder, h, w, max_batch=1, weights=type(encoder).__name__)
        self.backend = deploy(spec, config, f"image_encoder_{w}x{h}", threads=threads)
        self.description = describe(self.backend)
        if self.backend.name == "pytorch":
            self._encode = encoder.encode  # the module itself: no detour through the spec wrapper
        else:
            wrapped = BackendImageEncoder(self.backend, self.stride)
            self._encode = wrapped.encode

    @property
    def name(self) -> str:
        """The backend in use."""
        return self.backend.name if self.backend is not None else "pytorch"

    def encode(self, rgb: Any) -> torch.Tensor:
        """H×W×3 / B×H×W×3 uint8 RGB → float32 [B, D, h, w] features on the CPU."""
        return self._encode(rgb)


class DeployedCall:
    """A selected backend called like the module it was exported from (positional inputs in the spec's order; the
    first output, on the inputs' device)."""

    def __init__(self, backend: EncoderBackend) -> None:
        self.backend = backend

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Same call as the source module."""
        named = dict(zip(self.backend.input_names, inputs))
        out = self.backend(**named)[self.backend.output_names[0]]
        return out.to(inputs[0].device)


def deploy_cfg_encoder(model: nn.Module, config: DeployConfig, device: Optional[str] = None,
                       threads: Optional[int] = None) -> EncoderBackend:
    """Answer with a ``LeoVLModel``'s CFG encoder on a selected backend; returns the backend.

    Sets the model's ``scene_runtime`` (None for ``pytorch``): inference calls the backend, while the module, its
    weights and the state dict stay as they are, so the model can still be saved or trained.
    """
    from leovl_ros.runtime.specs import cfg_encoder_spec

    spec = cfg_encoder_spec(model.cfg_encoder.eval(), weights=type(model).__name__)
    backend = deploy(spec, config, "cfg_encoder", device=device, threads=threads)
    model.scene_runtime = None if backend.name == "pytorch" else DeployedCall(backend)
    return backend
