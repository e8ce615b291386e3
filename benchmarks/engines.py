"""CPU latency of the deployable encoders: PyTorch vs ONNX Runtime (median ms, same thread count), one JSON line.

Workloads: the 2D encoder on one 320×240 image, the CFG encoder at N_G = 256 and 750 tokens (L = 10 bins).
Weights: the shipped model when present, else seeded fresh encoders (latency does not depend on the values).
The GPU figures (PyTorch CUDA, TensorRT FP16) come from ``engines/gpu_check.sh``.

    python benchmarks/engines.py [--threads 1] [--iters 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import torch

from leovl_ros.runtime.backends import OnnxRuntimeBackend, PyTorchBackend
from leovl_ros.runtime.onnx_export import export_onnx, max_abs_error
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER
from leovl_ros.runtime.timing import median_ms

WORKLOADS = (("image_320x240", IMAGE_ENCODER, {"B": 1}), ("cfg_n256", CFG_ENCODER, {"N": 256, "L": 10}),
             ("cfg_n750", CFG_ENCODER, {"N": 750, "L": 10}))
"""(label, encoder, dynamic sizes) of the timed workloads (the same as engines/gpu_check.py)."""


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads for both PyTorch and ONNX Runtime")
    ap.add_argument("--iters", type=int, default=30, help="timed runs per backend and workload (median reported)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    specs = load_encoder_specs()
    figures: dict = {"threads": args.threads, "weights": specs[CFG_ENCODER].weights}
    with tempfile.TemporaryDirectory() as tmp:
        ort = {}
        for name, spec in specs.items():
            export_onnx(spec, Path(tmp) / f"{name}.onnx")
            ort[name] = OnnxRuntimeBackend(spec, Path(tmp) / f"{name}.onnx", cuda=False, threads=args.threads)
            figures[f"{name}_max_abs_err"] = max(max_abs_error(spec, ort[name], [spec.dims("opt")]))
        for label, name, dims in WORKLOADS:
            inputs = specs[name].sample(dims)
            torch_backend = PyTorchBackend(specs[name], "cpu")
            pt = median_ms(lambda b=torch_backend, x=inputs: b(**x), args.iters)
            rt = median_ms(lambda b=ort[name], x=inputs: b(**x), args.iters)
            figures[label] = {"pytorch_ms": round(pt, 3), "onnxruntime_ms": round(rt, 3),
                              "pytorch_over_onnxruntime": round(pt / rt, 2)}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
