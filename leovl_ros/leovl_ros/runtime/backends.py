"""Runtime selection: TensorRT → ONNX Runtime (CUDA, then CPU) → PyTorch behind one ``EncoderBackend`` interface.

Parameters follow Isaac ROS's TensorRT node: ``model_file_path`` (the ONNX file), ``engine_file_path`` (the
TensorRT plan), ``force_engine_update``, binding names. The ONNX file is (re-)exported from the PyTorch module only
when missing or stale, the engine rebuilt only when missing, stale (manifest: ONNX hash, TensorRT version, GPU,
precision) or forced. Each unusable backend falls through with its reason; the choice is logged once.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from leovl_ros.runtime.onnx_export import ensure_onnx
from leovl_ros.runtime.specs import EncoderSpec
from leovl_ros.runtime.tensorrt_engine import (
    BackendUnavailable,
    TensorRTRunner,
    build_engine,
    engine_problems,
    import_tensorrt,
)

LOG = logging.getLogger("leovl_ros.runtime")
DEFAULT_PREFERENCE = ("tensorrt", "onnxruntime-cuda", "onnxruntime-cpu", "pytorch")
"""Fastest first; the first backend that works here is used."""


@dataclass
class BackendConfig:
    """Where the deployable files live and how to treat them (Isaac ROS TensorRT node parameter names)."""

    model_file_path: Optional[str] = None
    """ONNX file (exported from the PyTorch module when missing or stale); None disables ONNX Runtime and TensorRT."""
    engine_file_path: Optional[str] = None
    """TensorRT plan; None = next to the ONNX file as ``<stem>.<precision>.engine``."""
    force_engine_update: bool = False
    """Rebuild the engine even when its manifest says it is current (the ONNX file is re-exported only when stale)."""
    precision: str = "fp16"
    """TensorRT precision: 'fp16' or 'fp32' (ONNX Runtime and PyTorch run fp32)."""
    device: Optional[str] = None
    """PyTorch backend device; None = 'cuda' when available, else 'cpu'."""
    input_binding_names: Optional[list[str]] = None
    """Expected input tensor names (None = the spec's); a mismatch is a configuration error."""
    output_binding_names: Optional[list[str]] = None
    """Expected output tensor names (None = the spec's)."""
    workspace_gib: float = 2.0
    """TensorRT builder workspace limit (GiB)."""
    threads: Optional[int] = None
    """ONNX Runtime intra-op threads (None = its default, one per physical core)."""

    def __post_init__(self) -> None:
        if self.precision not in ("fp16", "fp32"):
            raise ValueError(f"precision must be 'fp16' or 'fp32', got {self.precision!r}")

    def engine_path(self) -> Optional[Path]:
        """The engine file this config names or implies."""
        if self.engine_file_path:
            return Path(self.engine_file_path)
        if self.model_file_path:
            onnx = Path(self.model_file_path)
            return onnx.with_name(f"{onnx.stem}.{self.precision}.engine")
        return None


class EncoderBackend:
    """Common interface: ``backend(**named inputs) -> {output name: tensor}``; ``name`` says which runtime."""

    name = "base"

    def __init__(self, spec: EncoderSpec, run: Callable[..., dict[str, torch.Tensor]], detail: str = "") -> None:
        self.spec = spec
        self._run = run
        self.detail = detail
        """What was done to get here (export / rebuild reasons), '' when everything was reused."""
        self.fallbacks: list[tuple[str, str]] = []
        """(backend, reason) for each preferred backend skipped before this one."""

    @property
    def input_names(self) -> list[str]:
        """Input binding names."""
        return self.spec.input_names

    @property
    def output_names(self) -> list[str]:
        """Output binding names."""
        return self.spec.output_names

    def __call__(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run once on named inputs (extra keys, e.g. the other fields of a ColumnBatch, are ignored)."""
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise ValueError(f"{self.spec.name}: missing inputs {sorted(missing)} (expects {self.input_names})")
        return self._run(**{k: inputs[k] for k in self.input_names})


class PyTorchBackend(EncoderBackend):
    """The source module itself (fp32, inference mode)."""

    name = "pytorch"

    def __init__(self, spec: EncoderSpec, device: Optional[str] = None) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        on_cpu = self.device.type == "cpu"  # the spec's module stays on the CPU (the reference); copy for devices
        module = spec.module.eval() if on_cpu else copy.deepcopy(spec.module).to(self.device).eval()

        def run(**inputs: torch.Tensor) -> dict[str, torch.Tensor]:
            with torch.inference_mode():
                out = module(*(inputs[n].to(self.device) for n in spec.input_names))
            return dict(zip(spec.output_names, out if isinstance(out, (tuple, list)) else (out,)))

        super().__init__(spec, run)


class OnnxRuntimeBackend(EncoderBackend):
    """An ONNX Runtime session on one execution provider (outputs come back as CPU torch tensors).

    ``threads``: intra-op threads (None = ONNX Runtime's default, one per physical core).
    """

    def __init__(
        self, spec: EncoderSpec, onnx_path: str | Path, cuda: bool, detail: str = "", threads: Optional[int] = None
    ) -> None:
        import onnxruntime as ort

        provider = ort_provider(cuda)
        self.name = "onnxruntime-cuda" if cuda else "onnxruntime-cpu"
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(onnx_path), options, providers=[provider])
        if provider not in session.get_providers():  # ORT silently drops a provider that fails to initialise
            raise BackendUnavailable(f"{provider} failed to initialise")
        names = [o.name for o in session.get_outputs()]

        def run(**inputs: torch.Tensor) -> dict[str, torch.Tensor]:
            feed = {k: np.ascontiguousarray(v.detach().cpu().numpy()) for k, v in inputs.items()}
            return {n: torch.from_numpy(a) for n, a in zip(names, session.run(names, feed))}

        super().__init__(spec, run, detail)


def ort_provider(cuda: bool) -> str:
    """The ONNX Runtime execution provider name, or ``BackendUnavailable`` when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime not importable ({exc})") from exc
    provider = "CUDAExecutionProvider" if cuda else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise BackendUnavailable(f"{provider} not available in onnxruntime {ort.__version__}")
    return provider


class TensorRTBackend(EncoderBackend):
    """A TensorRT engine (built or reused per the manifests) run on torch CUDA tensors."""

    name = "tensorrt"

    def __init__(self, spec: EncoderSpec, onnx_path: Path, config: BackendConfig, detail: str = "") -> None:
        engine = config.engine_path()
        assert engine is not None  # model_file_path is set whenever this backend is tried
        reason = "forced" if config.force_engine_update else engine_problems(spec, onnx_path, engine, config.precision)
        if reason:
            build_engine(spec, onnx_path, engine, config.precision, config.workspace_gib)
            detail = "; ".join(filter(None, [detail, f"engine rebuilt ({reason})"]))
        runner = TensorRTRunner(engine)
        if runner.input_names != spec.input_names or runner.output_names != spec.output_names:
            raise BackendUnavailable(f"{engine.name} binds {runner.input_names}→{runner.output_names}, "
                                     f"expected {spec.input_names}→{spec.output_names}")
        super().__init__(spec, runner, detail)


_LOGGED: set[str] = set()


def _log_once(message: str) -> None:
    """Info-log a message the first time this process sees it."""
    if message not in _LOGGED:
        _LOGGED.add(message)
        LOG.info(message)


def select_backend(
    spec: EncoderSpec,
    preferred: Sequence[str] = DEFAULT_PREFERENCE,
    config: Optional[BackendConfig] = None,
) -> EncoderBackend:
    """The first backend of ``preferred`` that works here; skipped ones (and why) in ``backend.fallbacks``.

    Raises ``ValueError`` for a bad configuration (unknown backend name, binding names the spec does not have) and
    ``BackendUnavailable`` when none of ``preferred`` works.
    """
    config = config or BackendConfig()
    unknown = [p for p in preferred if p not in DEFAULT_PREFERENCE]
    if unknown:
        raise ValueError(f"unknown backends {unknown}; choose from {list(DEFAULT_PREFERENCE)}")
    for given, have in ((config.input_binding_names, spec.input_names), (config.output_binding_names,
                                                                           spec.output_names)):
        if given is not None and list(given) != have:
            raise ValueError(f"{spec.name}: binding names {list(given)} do not match the model's {have}")
    fallbacks: list[tuple[str, str]] = []
    onnx: dict[str, str] = {}  # export reason, computed once when the first ONNX-based backend is tried
    for name in preferred:
        try:
            backend = _make(name, spec, config, onnx)
        except BackendUnavailable as exc:
            fallbacks.append((name, str(exc)))
            continue
        except (RuntimeError, OSError, ValueError) as exc:  # export / build / load failed: fall back, say why
            if name == "pytorch":
                raise
            fallbacks.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        backend.fallbacks = fallbacks
        skipped = "; ".join(f"{n}: {r}" for n, r in fallbacks)
        extra = f" [{backend.detail}]" if backend.detail else ""
        _log_once(f"{spec.name}: using {backend.name}{extra}" + (f" (skipped {skipped})" if skipped else ""))
        return backend
    raise BackendUnavailable(f"{spec.name}: no usable backend: " + "; ".join(f"{n}: {r}" for n, r in fallbacks))


def _make(name: str, spec: EncoderSpec, config: BackendConfig, onnx: dict[str, str]) -> EncoderBackend:
    """Construct one backend or raise ``BackendUnavailable``."""
    if name == "pytorch":
        return PyTorchBackend(spec, config.device)
    if name == "tensorrt":
        import_tensorrt()  # checked before any export work; raises BackendUnavailable with the reason
    else:
        ort_provider(cuda=name == "onnxruntime-cuda")
    if not config.model_file_path:
        raise BackendUnavailable("model_file_path not set")
    path = Path(config.model_file_path)
    if "reason" not in onnx:
        _, why = ensure_onnx(spec, path)
        onnx["reason"] = f"ONNX exported ({why})" if why else ""
    if name == "tensorrt":
        return TensorRTBackend(spec, path, config, onnx["reason"])
    return OnnxRuntimeBackend(spec, path, cuda=name == "onnxruntime-cuda", detail=onnx["reason"],
                              threads=config.threads)
