"""ONNX export of a Hugging Face vision tower (SigLIP / CLIP / DINOv2 class) behind ``HFVisionEncoder``.

``HFVisionEncoder.features(image)`` is the traceable forward the SmallCNN also has (float [B, 3, H, W] in 0–1 →
[B, D, s/p, s/p]: resize to the tower's square input, normalise, patch tokens → map), so the tower goes through
the same spec, export, manifest and backend code as the SmallCNN (``runtime.specs.image_encoder_spec``,
``runtime.onnx_export.ensure_onnx``, ``runtime.deploy.DeployedImageEncoder``): dynamic batch, a fixed camera image
size per export (the resize to the tower's size is inside the graph).

    python -m leovl_ros.runtime.hf_vision_export --model /path/to/siglip --out engines/siglip.onnx --height 240 \\
        --width 320
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import torch

from leovl_ros.model.image_encoder import HFVisionEncoder, to_batch
from leovl_ros.runtime.manifest import Manifest
from leovl_ros.runtime.onnx_export import DEFAULT_OPSET, ensure_onnx
from leovl_ros.runtime.specs import EncoderSpec, image_encoder_spec


def hf_vision_spec(encoder: HFVisionEncoder, height: int = 240, width: int = 320,
                   max_batch: int = 4, weights: str = "hf-vision") -> EncoderSpec:
    """The ``image_encoder`` spec of a vision tower at a fixed camera image size (batch dynamic)."""
    return image_encoder_spec(encoder, height, width, max_batch=max_batch, weights=weights)


def export_hf_vision(model: str | Path | HFVisionEncoder, onnx_path: str | Path, height: int = 240,
                     width: int = 320, max_batch: int = 4, force: bool = False,
                     opset: int = DEFAULT_OPSET) -> tuple[EncoderSpec, Manifest, str]:
    """Export (or reuse an up-to-date export of) a tower from a local folder or an ``HFVisionEncoder``; returns
    the spec, the manifest and why it was (re-)exported ('' when reused)."""
    encoder = model if isinstance(model, HFVisionEncoder) else HFVisionEncoder(model)
    source = str(model) if not isinstance(model, HFVisionEncoder) else type(encoder.tower).__name__
    spec = hf_vision_spec(encoder, height, width, max_batch, weights=source)
    manifest, reason = ensure_onnx(spec, onnx_path, force=force, opset=opset)
    return spec, manifest, reason


def relative_errors(reference: Callable[[torch.Tensor], torch.Tensor], run: Callable[..., dict[str, torch.Tensor]],
                    batches: Sequence[int], height: int, width: int, seed: int = 0) -> list[float]:
    """max |run − reference| / max |reference| per batch size, on random uint8 images (``reference`` takes the
    uint8 [B, H, W, 3] batch, e.g. ``HFVisionEncoder.encode``; ``run`` the float image, e.g. an ONNX session)."""
    errors = []
    for i, b in enumerate(batches):
        g = torch.Generator().manual_seed(seed + i)
        rgb = torch.randint(0, 256, (b, height, width, 3), generator=g, dtype=torch.uint8)
        ref = reference(rgb).float().cpu()
        got = run(image=to_batch(rgb))["features"].float().cpu()
        if got.shape != ref.shape:
            raise ValueError(f"batch {b}: runtime gives {tuple(got.shape)}, PyTorch {tuple(ref.shape)}")
        errors.append(float((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12)))
    return errors


def onnxruntime_runner(spec: EncoderSpec, onnx_path: str | Path, cuda: bool = False,
                       threads: Optional[int] = None) -> Any:
    """An ONNX Runtime backend of the exported spec (``runner(image=...)["features"]``)."""
    from leovl_ros.runtime.backends import OnnxRuntimeBackend

    return OnnxRuntimeBackend(spec, onnx_path, cuda=cuda, threads=threads)


def main(argv: Optional[list[str]] = None) -> int:
    """CLI: export a local vision tower and check ONNX Runtime against PyTorch at two batch sizes."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="local Hugging Face folder (SigLIP / CLIP / DINOv2)")
    ap.add_argument("--out", type=Path, required=True, help="ONNX file to write (manifest beside it)")
    ap.add_argument("--height", type=int, default=240, help="camera image height the export takes")
    ap.add_argument("--width", type=int, default=320, help="camera image width the export takes")
    ap.add_argument("--max-batch", type=int, default=4, help="largest batch of the TensorRT profile")
    ap.add_argument("--force", action="store_true", help="re-export even when the file is up to date")
    args = ap.parse_args(argv)
    encoder = HFVisionEncoder(args.model)
    spec, manifest, reason = export_hf_vision(encoder, args.out, args.height, args.width, args.max_batch, args.force)
    errors = relative_errors(encoder.encode, onnxruntime_runner(spec, args.out), (1, 2), args.height, args.width)
    print(json.dumps({"onnx": str(args.out), "exported": reason or "reused", "relative_error": errors,
                      "features": list(spec.outputs[0].shape)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
