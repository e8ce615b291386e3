"""One-shot engine check on a GPU machine (run by ``engines/gpu_check.sh``): export, build, compare, time.

Steps, each recorded as ok / failed / skipped with the reason, never stopping the others:
1. both encoders → ONNX, reusing current exports from ``--onnx-dir`` (torch 2.13's exporter needs the ``onnx``
   package: export here and carry the folder where the GPU machine lacks it); ONNX Runtime (CPU) vs PyTorch;
2. TensorRT FP16 engines (forced fresh build, timed), TensorRT vs PyTorch max abs error, a second load that must
   reuse the engine (manifest current);
3. median latency of PyTorch CPU, ONNX Runtime CPU, PyTorch CUDA and TensorRT FP16 for the 2D encoder at 320×240
   and the CFG encoder at N_G = 256 and 750 (L = 10).
Writes ``<out>/gpu_figures.json`` (one JSON line, rewritten after every step so a timeout keeps what was done)
and the manifests under ``<out>/manifests/``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Optional

import torch

from leovl_ros.runtime.backends import BackendConfig, OnnxRuntimeBackend, PyTorchBackend, select_backend
from leovl_ros.runtime.manifest import current_gpu, runtime_versions
from leovl_ros.runtime.onnx_export import ensure_onnx, max_abs_error
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER
from leovl_ros.runtime.timing import median_ms

WORKLOADS = (("image_320x240", IMAGE_ENCODER, {"B": 1}), ("cfg_n256", CFG_ENCODER, {"N": 256, "L": 10}),
             ("cfg_n750", CFG_ENCODER, {"N": 750, "L": 10}))
"""(label, encoder, dynamic sizes) of the timed workloads."""


class Recorder:
    """Collects figures and step outcomes; rewrites the JSON file after every step."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.figures: dict[str, Any] = {"steps": {}}

    def step(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one step; record 'ok' + its result, or 'failed: …' (traceback printed), never raising."""
        t0 = time.perf_counter()
        try:
            result = fn()
            self.figures["steps"][name] = f"ok ({time.perf_counter() - t0:.1f} s)"
            return result
        except Exception as exc:  # a failed step is a finding, not the end of the check
            traceback.print_exc()
            self.figures["steps"][name] = f"failed: {type(exc).__name__}: {exc}"[:2000]
            return None
        finally:
            self.save()

    def skip(self, name: str, reason: str) -> None:
        """Record a step that could not run here."""
        self.figures["steps"][name] = f"skipped: {reason}"
        self.save()

    def save(self) -> None:
        """Write the figures as one JSON line."""
        (self.out / "gpu_figures.json").write_text(json.dumps(self.figures) + "\n")


def _time(make: Callable[[], Any], inputs: dict[str, torch.Tensor], cuda: bool, iters: int) -> float:
    """Median ms of one backend (built by ``make``) on ``inputs``."""
    backend = make()
    return round(median_ms(lambda: backend(**inputs), iters, cuda=cuda), 3)


def _importable(module: str) -> bool:
    """Whether ``module`` imports here."""
    try:
        importlib.import_module(module)
        return True
    except Exception:  # missing or broken install
        return False


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu_check")), help="output folder")
    ap.add_argument("--model-dir", type=Path, help="checkpoint folder (default: models/default, else fresh weights)")
    ap.add_argument("--fresh", action="store_true", help="seeded untrained encoders instead of the checkpoint")
    ap.add_argument("--onnx-dir", type=Path, default=Path("runs/engines"),
                    help="ONNX exports to reuse when current (made by engines/export.py, e.g. where onnx is missing)")
    ap.add_argument("--iters", type=int, default=30, help="timed runs per backend and workload (median reported)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    out = args.out
    (out / "manifests").mkdir(parents=True, exist_ok=True)
    rec = Recorder(out)
    has = {m: _importable(m) for m in ("onnx", "onnxruntime", "tensorrt", "safetensors", "yaml")}
    cuda = torch.cuda.is_available()
    rec.figures["env"] = {
        "python": platform.python_version(), "versions": runtime_versions(), "cuda_available": cuda,
        "torch_cuda": torch.version.cuda, "gpu": current_gpu(), "cpu_threads": torch.get_num_threads(),
        "importable": has,
    }
    specs = rec.step("load_encoders", partial(load_encoder_specs, args.model_dir, fresh=args.fresh))
    if specs is None:
        specs = rec.step("load_fresh_encoders", lambda: load_encoder_specs(fresh=True))
    if specs is None:
        return 1
    rec.figures["weights"] = {n: s.weights for n, s in specs.items()}
    engines_dir = out / "engines"
    engines_dir.mkdir(exist_ok=True)
    acc: dict[str, Any] = {}
    rec.figures["accuracy"] = acc
    ort_backends: dict[str, Any] = {}
    trt_backends: dict[str, Any] = {}
    for name, spec in specs.items():
        onnx_path = args.onnx_dir / f"{name}.onnx"
        cases = [spec.dims(k) for k in ("min", "opt", "max")]
        exported = rec.step(f"{name}.export_onnx", partial(ensure_onnx, spec, onnx_path))
        if exported is None:
            continue
        checker = ("ok" if has["onnx"] else "skipped (onnx not installed)") if exported[1] else "ran at export (reused)"
        acc[name] = {"onnx": exported[1] or "reused (manifest current)", "onnx_checker": checker}
        if has["onnxruntime"]:
            ort_backends[name] = rec.step(f"{name}.onnxruntime_cpu",
                                          partial(OnnxRuntimeBackend, spec, onnx_path, cuda=False))
            if ort_backends[name] is not None:
                errors = rec.step(f"{name}.onnxruntime_cpu_accuracy", partial(max_abs_error, spec, ort_backends[name],
                                                                               cases))
                acc[name]["onnxruntime_cpu_max_abs_err"] = max(errors) if errors else None
        else:
            rec.skip(f"{name}.onnxruntime_cpu", "onnxruntime not installed")
        if not (has["tensorrt"] and cuda):
            rec.skip(f"{name}.tensorrt_fp16", "tensorrt not importable" if cuda else "no CUDA")
            continue
        engine = str(engines_dir / f"{name}.fp16.engine")
        config = BackendConfig(model_file_path=str(onnx_path), engine_file_path=engine, force_engine_update=True)
        t0 = time.perf_counter()
        trt = rec.step(f"{name}.tensorrt_fp16_build", partial(select_backend, spec, ("tensorrt",), config))
        if trt is None:
            continue
        trt_backends[name] = trt
        acc[name]["tensorrt_build_s"] = round(time.perf_counter() - t0, 1)
        errors = rec.step(f"{name}.tensorrt_fp16_accuracy", partial(max_abs_error, spec, trt, cases, device="cuda"))
        if errors:
            acc[name]["tensorrt_fp16_max_abs_err"] = max(errors)
            acc[name]["tensorrt_fp16_cases"] = [{**c, "max_abs_err": e} for c, e in zip(cases, errors)]
        reuse = BackendConfig(model_file_path=str(onnx_path), engine_file_path=engine)
        again = rec.step(f"{name}.tensorrt_reuse", partial(select_backend, spec, ("tensorrt",), reuse))
        acc[name]["tensorrt_reused"] = again is not None and not again.detail
    for f in sorted([*engines_dir.glob("*.json"), *args.onnx_dir.glob("*.onnx.json")]):
        shutil.copy2(f, out / "manifests" / f.name)
    timing: dict[str, Any] = {}
    rec.figures["median_ms"] = timing
    for label, name, dims in WORKLOADS:
        spec = specs[name]
        inputs = spec.sample(dims)
        gpu_inputs = {k: v.cuda() for k, v in inputs.items()} if cuda else {}
        timing[label] = row = {}
        runs: list[tuple[str, Callable[[], Any], dict, bool]] = [
            ("pytorch_cpu", partial(PyTorchBackend, spec, "cpu"), inputs, False)]
        if ort_backends.get(name) is not None:
            runs.append(("onnxruntime_cpu", lambda b=ort_backends[name]: b, inputs, False))
        if cuda:
            runs.append(("pytorch_cuda", partial(PyTorchBackend, spec, "cuda"), gpu_inputs, True))
        if name in trt_backends:
            runs.append(("tensorrt_fp16", lambda b=trt_backends[name]: b, gpu_inputs, True))
        for backend_name, make, feed, sync in runs:
            row[backend_name] = rec.step(f"time.{label}.{backend_name}",
                                         partial(_time, make, feed, sync, args.iters))
    rec.save()
    print("\n== gpu_check summary")
    for step, outcome in rec.figures["steps"].items():
        print(f"  {step:45s} {outcome}")
    print(json.dumps(rec.figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
