"""Hugging Face vision towers (tiny random SigLIP, CLIP, DINOv2 built from configs, no download) through
``HFVisionEncoder`` → ONNX (dynamic batch, fixed image size): ONNX Runtime matches ``encode`` to 1e-3 relative at
two batch sizes, the export is reused while current, and fusion's deployed-encoder path picks it up; TensorRT where a
GPU and the tensorrt package are present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from leovl_ros.model.image_encoder import HFVisionEncoder
from leovl_ros.runtime.hf_vision_export import (
    export_hf_vision,
    onnxruntime_runner,
    relative_errors,
)

pytest.importorskip("onnxruntime")
H, W = 48, 64  # the camera image size of the export (the tower resizes to its own square input inside the graph)
TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
            patch_size=8)


def _save_tower(kind: str, folder: Path) -> Path:
    """A randomly initialised tiny vision model of one family, saved as a local Hugging Face folder."""
    import transformers as tf

    torch.manual_seed(0)
    if kind == "siglip":
        model = tf.SiglipVisionModel(tf.SiglipVisionConfig(**TINY))
    elif kind == "clip":
        model = tf.CLIPVisionModel(tf.CLIPVisionConfig(**TINY, projection_dim=16))
    else:
        model = tf.Dinov2Model(tf.Dinov2Config(**{k: v for k, v in TINY.items() if k != "intermediate_size"},
                                               mlp_ratio=2))
    model.eval().save_pretrained(folder)
    if kind == "clip":  # CLIP's own normalisation, as its processor config ships it
        (folder / "preprocessor_config.json").write_text(json.dumps(
            {"image_mean": [0.4815, 0.4578, 0.4082], "image_std": [0.2686, 0.2613, 0.2758]}))
    return folder


@pytest.fixture(scope="module", params=["siglip", "clip", "dinov2"])
def tower(request, tmp_path_factory) -> tuple[str, Path]:
    return request.param, _save_tower(request.param, tmp_path_factory.mktemp(request.param))


def test_onnx_matches_pytorch(tower, tmp_path: Path) -> None:
    """Exported with a dynamic batch: ONNX Runtime vs encode, relative error <= 1e-3 at batch 1 and 3; reused
    while current, re-exported when the weights change."""
    kind, path = tower
    enc = HFVisionEncoder(path)
    onnx = tmp_path / f"{kind}.onnx"
    spec, manifest, reason = export_hf_vision(enc, onnx, H, W, max_batch=4)
    assert reason and onnx.is_file() and manifest.inputs[0]["shape"] == ["B", 3, H, W]
    assert spec.outputs[0].shape == ("B", 32, 4, 4)
    errors = relative_errors(enc.encode, onnxruntime_runner(spec, onnx, threads=1), (1, 3), H, W)
    print(f"{kind}: ONNX Runtime vs PyTorch relative error {errors}")
    assert max(errors) <= 1e-3
    assert export_hf_vision(enc, onnx, H, W, max_batch=4)[2] == ""  # up to date: reused
    with torch.no_grad():
        next(enc.tower.parameters()).add_(0.01)
    assert export_hf_vision(enc, onnx, H, W, max_batch=4)[2]  # stale weights: re-exported


def test_deployed_encoder_uses_onnxruntime(tower, tmp_path: Path) -> None:
    """Fusion's DeployedImageEncoder exports the wrapped tower and runs it on ONNX Runtime."""
    from leovl_ros.runtime.deploy import DeployConfig, DeployedImageEncoder

    kind, path = tower
    enc = HFVisionEncoder(path)
    config = DeployConfig(backend="onnxruntime-cpu", model_file_path=str(tmp_path / f"{kind}.onnx"))
    deployed = DeployedImageEncoder(enc, (H, W), config, threads=1)
    assert deployed.name == "onnxruntime-cpu" and deployed.feature_dim == 32
    rgb = torch.randint(0, 256, (H, W, 3), dtype=torch.uint8).numpy()
    ref = enc.encode(rgb)
    assert float((deployed.encode(rgb) - ref).abs().max() / ref.abs().max()) <= 1e-3


def test_tensorrt(tower, tmp_path: Path) -> None:
    """TensorRT FP16 engine of the export on a GPU (skipped without CUDA or the tensorrt package)."""
    pytest.importorskip("tensorrt")
    if not torch.cuda.is_available():
        pytest.skip("TensorRT needs a CUDA device")
    from leovl_ros.runtime.tensorrt_engine import TensorRTRunner, build_engine

    kind, path = tower
    enc = HFVisionEncoder(path)
    spec, _, _ = export_hf_vision(enc, tmp_path / f"{kind}.onnx", H, W, max_batch=4)
    build_engine(spec, tmp_path / f"{kind}.onnx", tmp_path / f"{kind}.engine", precision="fp32")
    runner = TensorRTRunner(tmp_path / f"{kind}.engine")
    errors = relative_errors(enc.encode, lambda image: runner(image=image.cuda()), (1, 3), H, W)
    assert max(errors) <= 1e-3
