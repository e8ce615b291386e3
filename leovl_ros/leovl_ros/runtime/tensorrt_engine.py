"""TensorRT engines from the ONNX exports: build (FP16, optimisation profile per dynamic axis) and run on torch CUDA.

``tensorrt`` is imported lazily (it is not installable everywhere); every entry point raises
``BackendUnavailable`` with the reason when it or CUDA is missing. Needs TensorRT ≥ 8.5 (the named-tensor API:
``set_input_shape`` / ``set_tensor_address`` / ``execute_async_v3``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import torch

from leovl_ros.runtime.manifest import (
    Manifest,
    StaleArtifactError,
    atomic_write_bytes,
    check_manifest,
    current_gpu,
    io_entries,
    read_manifest,
    runtime_versions,
    sha256_file,
    write_manifest,
)
from leovl_ros.runtime.specs import EncoderSpec


class BackendUnavailable(RuntimeError):
    """A runtime cannot be used here (package missing, no GPU, no model file); the message says why."""


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or ``BackendUnavailable`` saying why not (no CUDA, not importable)."""
    if not torch.cuda.is_available():
        raise BackendUnavailable("no CUDA device visible to torch")
    try:
        import tensorrt
    except Exception as exc:  # ImportError, or a stub/broken install raising anything else
        raise BackendUnavailable(f"tensorrt not importable ({type(exc).__name__}: {exc})") from exc
    if not hasattr(tensorrt.IExecutionContext, "execute_async_v3"):
        raise BackendUnavailable(f"tensorrt {tensorrt.__version__} lacks execute_async_v3 (need ≥ 8.5)")
    return tensorrt


_TRT_LOGGER: Any = None


def _logger(trt: Any) -> Any:
    """One TensorRT logger per process (TensorRT warns when several are created)."""
    global _TRT_LOGGER
    if _TRT_LOGGER is None:
        _TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
    return _TRT_LOGGER


def build_engine(
    spec: EncoderSpec,
    onnx_path: str | Path,
    engine_path: str | Path,
    precision: str = "fp16",
    workspace_gib: float = 2.0,
) -> Manifest:
    """Parse the ONNX file, build a serialized engine with the spec's profile, write engine + manifest (atomic)."""
    trt = import_tensorrt()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    if precision not in ("fp16", "fp32"):
        raise ValueError(f"precision must be 'fp16' or 'fp32', got {precision!r}")
    onnx_manifest = read_manifest(onnx_path)
    check_manifest(onnx_manifest, onnx_path, signature=spec.signature())
    logger = _logger(trt)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if precision == "fp16":
        if not hasattr(trt.BuilderFlag, "FP16"):
            raise BackendUnavailable(f"tensorrt {trt.__version__} has no FP16 builder flag (strongly typed only)")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for t in spec.inputs:
        if any(isinstance(d, str) for d in t.shape):
            profile.set_shape(t.name, *(t.resolve(spec.dims(k)) for k in ("min", "opt", "max")))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path.name} (see the TensorRT log above)")
    atomic_write_bytes(engine_path, bytes(serialized))
    ins, outs = io_entries(spec, with_profile=True)
    manifest = Manifest(
        kind="tensorrt", name=spec.name, file=engine_path.name, file_sha256=sha256_file(engine_path),
        onnx_sha256=onnx_manifest.file_sha256, state_dict_sha256=onnx_manifest.state_dict_sha256,
        precision=precision, inputs=ins, outputs=outs, opset=onnx_manifest.opset, versions=runtime_versions(),
        gpu=current_gpu(), weights=onnx_manifest.weights,
    )
    write_manifest(manifest, engine_path)
    return manifest


def engine_problems(spec: EncoderSpec, onnx_path: Optional[Path], engine_path: Path, precision: str) -> str:
    """Why an existing engine cannot be reused ('' when it can): stale source, TensorRT, GPU, precision, profile."""
    trt = import_tensorrt()
    if not engine_path.is_file():
        return f"{engine_path.name} missing"
    try:
        manifest = read_manifest(engine_path)
        check_manifest(
            manifest, engine_path,
            onnx_sha256=sha256_file(onnx_path) if onnx_path is not None and onnx_path.is_file() else None,
            precision=precision, tensorrt_version=str(trt.__version__), gpu=current_gpu(), signature=spec.signature(),
        )
    except StaleArtifactError as exc:
        return str(exc)
    wanted = io_entries(spec, with_profile=True)[0]
    if manifest.inputs != wanted:
        return f"optimisation profile changed: engine has {manifest.inputs}, wanted {wanted}"
    return ""


def _torch_dtypes(trt: Any) -> dict[Any, torch.dtype]:
    """TensorRT DataType → torch dtype for the I/O types TensorRT supports."""
    table = {"FLOAT": torch.float32, "HALF": torch.float16, "INT32": torch.int32, "INT64": torch.int64,
             "BOOL": torch.bool, "UINT8": torch.uint8, "INT8": torch.int8, "BF16": torch.bfloat16}
    return {getattr(trt.DataType, k): v for k, v in table.items() if hasattr(trt.DataType, k)}


class TensorRTRunner:
    """Deserialised engine + execution context; ``runner(**inputs)`` → {output name: CUDA tensor}.

    Runs on the current CUDA stream of ``device`` (so results are ordered with surrounding torch work). One
    context: not for concurrent calls from several threads.
    """

    def __init__(self, engine_path: str | Path, device: Optional[torch.device | str] = None) -> None:
        trt = import_tensorrt()
        self.device = torch.device(device) if device is not None else torch.device("cuda", torch.cuda.current_device())
        with torch.cuda.device(self.device):
            self.engine = trt.Runtime(_logger(trt)).deserialize_cuda_engine(Path(engine_path).read_bytes())
            if self.engine is None:
                raise StaleArtifactError(f"TensorRT {trt.__version__} could not deserialise {Path(engine_path).name}")
            self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = [n for n in names if is_input[n]]
        self.output_names = [n for n in names if not is_input[n]]
        table = _torch_dtypes(trt)
        self.dtypes = {n: table[self.engine.get_tensor_dtype(n)] for n in names}

    def __call__(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Bind inputs (moved/cast to the engine's device and dtypes), allocate outputs, execute asynchronously."""
        if set(inputs) != set(self.input_names):
            raise ValueError(f"engine inputs are {self.input_names}, got {sorted(inputs)}")
        ctx, bound = self.context, []
        for name in self.input_names:
            t = inputs[name].to(self.device, self.dtypes[name]).contiguous()
            bound.append(t)  # keep alive until the launch is queued
            if ctx.set_input_shape(name, tuple(t.shape)) is False:
                raise ValueError(f"input {name!r} shape {tuple(t.shape)} is outside the engine's optimisation profile")
            ctx.set_tensor_address(name, t.data_ptr())
        outputs = {}
        for name in self.output_names:
            out = torch.empty(tuple(ctx.get_tensor_shape(name)), dtype=self.dtypes[name], device=self.device)
            ctx.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        if not ctx.execute_async_v3(torch.cuda.current_stream(self.device).cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
        return outputs
