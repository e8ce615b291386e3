"""Build TensorRT engines (FP16 by default, optimisation profiles for N_G, L and the image batch) from the exports.

Isaac ROS semantics: ``<out>/<name>.onnx`` is the model file (exported first when missing or stale), the engine
``<out>/<name>.<precision>.engine`` is reused unless its manifest is stale (ONNX hash, TensorRT version, GPU,
precision) or ``--force-engine-update`` is given. Then TensorRT is compared with PyTorch (fp32, CPU) at the
profile's min / opt / max sizes. Prints one JSON line; exits 2 where TensorRT or CUDA is unavailable.

    python engines/build_trt.py --out runs/engines --tokens 1 256 1024 --bins 1 10 32
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Optional

from leovl_ros.runtime.backends import BackendConfig, BackendUnavailable, select_backend
from leovl_ros.runtime.manifest import read_manifest
from leovl_ros.runtime.onnx_export import max_abs_error
from leovl_ros.runtime.sources import add_source_arguments, specs_from_arguments


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(ap)
    ap.add_argument("--out", type=Path, default=Path("runs/engines"), help="folder of the .onnx and .engine files")
    ap.add_argument("--precision", choices=("fp16", "fp32"), default="fp16", help="engine precision")
    ap.add_argument("--force-engine-update", action="store_true", help="rebuild even when the engine is current")
    ap.add_argument("--workspace-gib", type=float, default=2.0, help="TensorRT builder workspace limit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    figures = {}
    for spec in specs_from_arguments(args):
        config = BackendConfig(
            model_file_path=str(args.out / f"{spec.name}.onnx"), force_engine_update=args.force_engine_update,
            precision=args.precision, workspace_gib=args.workspace_gib,
        )
        t0 = time.perf_counter()
        try:
            backend = select_backend(spec, ("tensorrt",), config)
        except BackendUnavailable as exc:
            print(json.dumps({"error": str(exc)}))
            return 2
        engine = config.engine_path()
        cases = [spec.dims(k) for k in ("min", "opt", "max")]
        errors = max_abs_error(spec, backend, cases, seed=args.seed, device="cuda")
        figures[spec.name] = {
            "engine": str(engine), "action": backend.detail or "reused (manifest current)",
            "seconds": round(time.perf_counter() - t0, 2), "manifest": read_manifest(engine).to_json(),
            "max_abs_err_vs_pytorch": max(errors), "cases": [{**c, "max_abs_err": e} for c, e in zip(cases, errors)],
        }
    print(json.dumps({"build_trt": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
