"""JSON sidecar manifests for .onnx / .engine files, and the check that refuses stale or mismatched ones.

A manifest sits next to its artifact (``x.onnx`` → ``x.onnx.json``) and records what the artifact was made from
(sha256 of the PyTorch state dict and of the ONNX file), what it was made with (torch / onnx / onnxruntime /
TensorRT versions, GPU and compute capability for engines), its binding names, shapes with dynamic axes and the
TensorRT optimisation profile, and its precision. ``check_manifest`` compares it with what the caller has now.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from leovl_ros.runtime.specs import EncoderSpec

FORMAT_VERSION = 1
"""Layout version of the manifest JSON; other versions are refused."""


class StaleArtifactError(ValueError):
    """An .onnx / .engine file does not match its manifest or the current sources, runtime or GPU."""


@dataclass
class Manifest:
    """Provenance and interface of one exported artifact."""

    kind: str
    """'onnx' or 'tensorrt'."""
    name: str
    """Model name (spec name)."""
    file: str
    """Artifact file name (relative to the manifest's folder)."""
    file_sha256: str
    """sha256 of the artifact bytes (detects a replaced or truncated file)."""
    onnx_sha256: str
    """sha256 of the ONNX file it was built from (the file itself for kind 'onnx')."""
    state_dict_sha256: str
    """sha256 of the PyTorch state dict the ONNX was exported from."""
    precision: str
    """'fp32' or 'fp16'."""
    inputs: list[dict[str, Any]]
    """Per input: name, dtype, shape (strings = dynamic axes) and, for engines, profile {min, opt, max}."""
    outputs: list[dict[str, Any]]
    """Per output: name, dtype, shape."""
    opset: int
    """ONNX opset of the (source) ONNX graph."""
    versions: dict[str, str]
    """torch / onnx / onnxruntime / tensorrt versions at creation (absent packages omitted)."""
    gpu: Optional[dict[str, str]] = None
    """Engines: {'name', 'compute_capability'} of the GPU it was built on."""
    weights: str = ""
    """Where the PyTorch weights came from (checkpoint path or random-init tag)."""
    created_utc: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    """Creation time (ISO 8601, UTC)."""
    format_version: int = FORMAT_VERSION
    """Manifest layout version."""

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``json.dump``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Inverse of ``to_json``; unknown keys or another format version raise ``StaleArtifactError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise StaleArtifactError(f"manifest has unknown keys {unknown}")
        if data.get("format_version") != FORMAT_VERSION:
            raise StaleArtifactError(f"manifest format {data.get('format_version')}, this code reads {FORMAT_VERSION}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise StaleArtifactError(f"manifest incomplete: {exc}") from exc


def manifest_path(artifact: str | Path) -> Path:
    """Sidecar path of an artifact: ``model.onnx`` → ``model.onnx.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def write_manifest(manifest: Manifest, artifact: str | Path) -> Path:
    """Write the sidecar atomically (temp file + rename) and return its path."""
    path = manifest_path(artifact)
    atomic_write_bytes(path, (json.dumps(manifest.to_json(), indent=1) + "\n").encode())
    return path


def read_manifest(artifact: str | Path) -> Manifest:
    """The sidecar of ``artifact``; a missing or unreadable one raises ``StaleArtifactError``."""
    path = manifest_path(artifact)
    if not path.is_file():
        raise StaleArtifactError(f"{Path(artifact).name}: no manifest ({path.name} missing)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StaleArtifactError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise StaleArtifactError(f"{path}: manifest is not a JSON object")
    return Manifest.from_json(data)


def check_manifest(
    manifest: Manifest,
    artifact: Optional[str | Path] = None,
    *,
    onnx_sha256: Optional[str] = None,
    state_dict_sha256: Optional[str] = None,
    precision: Optional[str] = None,
    tensorrt_version: Optional[str] = None,
    gpu: Optional[dict[str, str]] = None,
    signature: Optional[dict[str, Any]] = None,
) -> None:
    """Raise ``StaleArtifactError`` listing every mismatch between the manifest and what is given (None = unchecked).

    ``artifact``: the file must hash to ``file_sha256``; ``onnx_sha256`` / ``state_dict_sha256``: the sources now;
    ``tensorrt_version`` / ``gpu``: the runtime and device now (engines are tied to both); ``signature``: expected
    binding names, dtypes and shapes (``EncoderSpec.signature()``).
    """
    problems = []
    if artifact is not None:
        actual = sha256_file(artifact)
        if actual != manifest.file_sha256:
            problems.append(f"file hash mismatch: {Path(artifact).name} is {actual[:12]}, manifest says "
                            f"{manifest.file_sha256[:12]} (file replaced or corrupt)")
    if onnx_sha256 is not None and onnx_sha256 != manifest.onnx_sha256:
        problems.append(f"ONNX hash mismatch: source is {onnx_sha256[:12]}, built from {manifest.onnx_sha256[:12]}")
    if state_dict_sha256 is not None and state_dict_sha256 != manifest.state_dict_sha256:
        problems.append(f"weights hash mismatch: PyTorch weights are {state_dict_sha256[:12]}, exported from "
                        f"{manifest.state_dict_sha256[:12]}")
    if precision is not None and precision != manifest.precision:
        problems.append(f"precision mismatch: wanted {precision}, artifact is {manifest.precision}")
    if tensorrt_version is not None and tensorrt_version != manifest.versions.get("tensorrt"):
        problems.append(f"TensorRT version mismatch: running {tensorrt_version}, engine built with "
                        f"{manifest.versions.get('tensorrt')}")
    if gpu is not None and gpu != manifest.gpu:
        problems.append(f"GPU mismatch: running on {_gpu_str(gpu)}, engine built on {_gpu_str(manifest.gpu)}")
    if signature is not None:
        have = {"inputs": [_strip(t) for t in manifest.inputs], "outputs": [_strip(t) for t in manifest.outputs]}
        if have != signature:
            problems.append(f"binding mismatch: expected {signature}, artifact has {have}")
    if problems:
        raise StaleArtifactError(f"{manifest.file} ({manifest.kind}) is stale or mismatched: " + "; ".join(problems))


def _strip(tensor: dict[str, Any]) -> dict[str, Any]:
    """Name, dtype and shape of a manifest tensor entry (without the profile)."""
    return {"name": tensor["name"], "dtype": tensor["dtype"], "shape": list(tensor["shape"])}


def _gpu_str(gpu: Optional[dict[str, str]]) -> str:
    """'NAME (sm X.Y)' or 'no GPU'."""
    return f"{gpu['name']} (sm {gpu['compute_capability']})" if gpu else "no GPU"


def io_entries(spec: EncoderSpec, with_profile: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Manifest input/output entries of a spec; inputs optionally carry their TensorRT profile shapes."""
    inputs = []
    for t in spec.inputs:
        entry = t.to_json()
        if with_profile:
            entry["profile"] = {k: list(t.resolve(spec.dims(k))) for k in ("min", "opt", "max")}
        inputs.append(entry)
    return inputs, [t.to_json() for t in spec.outputs]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def state_dict_sha256(module: torch.nn.Module) -> str:
    """Hex sha256 over a module's state dict (sorted names, dtypes, shapes and bytes): identifies its weights."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def runtime_versions() -> dict[str, str]:
    """Versions of torch, onnx, onnxruntime and tensorrt that are importable now."""
    import importlib

    out = {"torch": torch.__version__}
    for mod in ("onnx", "onnxruntime", "tensorrt"):
        try:
            out[mod] = str(importlib.import_module(mod).__version__)
        except Exception:  # a missing or broken package is simply not recorded
            continue
    return out


def current_gpu(device: int | None = None) -> Optional[dict[str, str]]:
    """{'name', 'compute_capability'} of the current CUDA device, or None without CUDA."""
    if not torch.cuda.is_available():
        return None
    idx = torch.cuda.current_device() if device is None else device
    major, minor = torch.cuda.get_device_capability(idx)
    return {"name": torch.cuda.get_device_name(idx), "compute_capability": f"{major}.{minor}"}


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write through a temp file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; artifacts are shared read-only files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
