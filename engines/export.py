"""Export the 2D encoder and the CFG encoder to ONNX (dynamic batch / N_G / L axes) and check them.

For each encoder: ``torch.onnx.export`` (opset ≥ 17, named bindings) → ``onnx.checker`` → ONNX Runtime (CPU) vs
PyTorch on random inputs at the profile's min / opt / max sizes and at a real CFG shape (N_G = 750, L = 10) →
``<name>.onnx`` + ``<name>.onnx.json`` manifest. Prints one JSON line; exits 1 when an error exceeds ``--tol``.

    python engines/export.py --out runs/engines            # the shipped model (or fresh weights if none yet)
    python engines/export.py --fresh --which cfg_encoder   # seeded untrained CFG encoder only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from leovl_ros.runtime.backends import OnnxRuntimeBackend
from leovl_ros.runtime.onnx_export import DEFAULT_OPSET, ensure_onnx, max_abs_error
from leovl_ros.runtime.sources import add_source_arguments, specs_from_arguments
from leovl_ros.runtime.specs import CFG_ENCODER, EncoderSpec

REAL_CFG_SHAPE = {"N": 750, "L": 10}
"""The paper's token cap with this project's default bins per column (3 m / 0.3 m)."""


def check_cases(spec: EncoderSpec) -> list[dict[str, int]]:
    """Dynamic sizes to compare at: profile min / opt / max (+ the real CFG shape)."""
    cases = [spec.dims("min"), spec.dims("opt"), spec.dims("max")]
    return cases + [REAL_CFG_SHAPE] if spec.name == CFG_ENCODER else cases


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(ap)
    ap.add_argument("--out", type=Path, default=Path("runs/engines"), help="output folder for .onnx + manifests")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (≥ 17)")
    ap.add_argument("--force", action="store_true", help="re-export even when the manifest says the file is current")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest accepted |ONNX Runtime − PyTorch|")
    args = ap.parse_args(argv)
    if args.opset < 17:
        ap.error("--opset must be ≥ 17")
    figures, ok = {}, True
    for spec in specs_from_arguments(args):
        path = args.out / f"{spec.name}.onnx"
        manifest, reason = ensure_onnx(spec, path, force=args.force, opset=args.opset)
        cases = check_cases(spec)
        errors = max_abs_error(spec, OnnxRuntimeBackend(spec, path, cuda=False), cases, seed=args.seed)
        ok &= max(errors) <= args.tol
        figures[spec.name] = {
            "onnx": str(path), "exported": reason or "reused (manifest current)", "weights": spec.weights,
            "sha256": manifest.file_sha256, "checker": "ok",
            "max_abs_err": max(errors), "cases": [{**c, "max_abs_err": e} for c, e in zip(cases, errors)],
        }
    print(json.dumps({"export": figures, "tol": args.tol, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
