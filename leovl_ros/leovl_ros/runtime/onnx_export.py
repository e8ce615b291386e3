"""ONNX export of an EncoderSpec (named I/O, dynamic axes), its checks, and reuse of an up-to-date export."""

from __future__ import annotations

import importlib.util
import inspect
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

import torch

from leovl_ros.runtime.manifest import (
    Manifest,
    StaleArtifactError,
    check_manifest,
    io_entries,
    read_manifest,
    runtime_versions,
    sha256_file,
    state_dict_sha256,
    write_manifest,
)
from leovl_ros.runtime.specs import EncoderSpec

DEFAULT_OPSET = 17
"""ONNX opset: 17 has LayerNormalization, which TensorRT ≥ 8.6 parses natively."""


def _legacy_exporter() -> dict[str, bool]:
    """``dynamo=False`` where ``torch.onnx.export`` has that switch (torch ≥ 2.5 defaults differ), else nothing."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def _trace_dims(spec: EncoderSpec) -> dict[str, int]:
    """Small, distinct, non-1 sizes for tracing so no dynamic axis gets specialised to 1 or aliased to another."""
    return {name: 2 + 2 * i + 1 for i, name in enumerate(spec.profile)}


def export_onnx(
    spec: EncoderSpec, path: str | Path, opset: int = DEFAULT_OPSET, check: Optional[bool] = None
) -> Manifest:
    """Export ``spec.module`` to ``path`` (atomic), run ``onnx.checker`` and write the sidecar manifest.

    ``check``: True requires the checker, False skips it, None runs it when the ``onnx`` package is installed
    (``torch.onnx.export`` itself does not need it, so a bare GPU machine can still export).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = spec.sample(_trace_dims(spec), seed=0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is chosen on purpose
            torch.onnx.export(
                spec.module,
                tuple(inputs[n] for n in spec.input_names),
                tmp,
                input_names=spec.input_names,
                output_names=spec.output_names,
                dynamic_axes=spec.dynamic_axes(),
                opset_version=opset,
                do_constant_folding=True,
                **_legacy_exporter(),
            )
        if check is None:
            check = importlib.util.find_spec("onnx") is not None
        if check:
            import onnx

            onnx.checker.check_model(tmp, full_check=True)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    digest = sha256_file(path)
    ins, outs = io_entries(spec, with_profile=False)
    manifest = Manifest(
        kind="onnx", name=spec.name, file=path.name, file_sha256=digest, onnx_sha256=digest,
        state_dict_sha256=state_dict_sha256(spec.module), precision="fp32", inputs=ins, outputs=outs, opset=opset,
        versions=runtime_versions(), weights=spec.weights,
    )
    write_manifest(manifest, path)
    return manifest


def ensure_onnx(
    spec: EncoderSpec, path: str | Path, force: bool = False, opset: int = DEFAULT_OPSET, check: Optional[bool] = None
) -> tuple[Manifest, str]:
    """Reuse ``path`` when its manifest matches the spec's weights and bindings, else (re-)export.

    Returns the manifest and why it was (re-)exported ('' when reused).
    """
    path = Path(path)
    reason = "forced" if force else ""
    if not force:
        if not path.is_file():
            reason = f"{path.name} missing"
        else:
            try:
                manifest = read_manifest(path)
                check_manifest(manifest, path, state_dict_sha256=state_dict_sha256(spec.module),
                               signature=spec.signature())
                return manifest, ""
            except StaleArtifactError as exc:
                reason = str(exc)
    return export_onnx(spec, path, opset, check), reason


def max_abs_error(
    spec: EncoderSpec,
    run: Callable[..., dict[str, torch.Tensor]],
    cases: Sequence[dict[str, int]],
    seed: int = 0,
    device: Optional[torch.device | str] = None,
) -> list[float]:
    """Max |run − PyTorch| over all outputs, per case of dynamic sizes (reference: ``spec.module``, CPU fp32)."""
    errors = []
    for i, dims in enumerate(cases):
        inputs = spec.sample(dims, seed=seed + i)
        with torch.inference_mode():
            ref = spec.module(*(inputs[n] for n in spec.input_names))
        refs = ref if isinstance(ref, (tuple, list)) else (ref,)
        got = run(**{k: v.to(device) if device is not None else v for k, v in inputs.items()})
        errors.append(max(float((got[name].float().cpu() - r).abs().max()) for name, r in zip(spec.output_names, refs)))
    return errors
