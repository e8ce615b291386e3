"""TensorRT engines (GPU only): FP16 build with profiles, run vs PyTorch, reuse when current, rebuild when stale."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("tensorrt")
if not torch.cuda.is_available():
    pytest.skip("TensorRT tests need a CUDA device", allow_module_level=True)

from leovl_ros.runtime.backends import BackendConfig, select_backend
from leovl_ros.runtime.manifest import current_gpu, manifest_path, read_manifest
from leovl_ros.runtime.onnx_export import max_abs_error
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER

pytestmark = pytest.mark.gpu
FP16_TOL = 5e-2
"""FP16 engines vs fp32 PyTorch: outputs are O(1), half precision keeps ~3 significant digits."""


@pytest.fixture(scope="module")
def specs():
    """Fresh encoders with small profiles (fast builds)."""
    return load_encoder_specs(fresh=True, seed=0, image_size=(64, 96), tokens=(1, 64, 256), bins=(1, 8, 16),
                              max_batch=2)


@pytest.mark.parametrize("name", [IMAGE_ENCODER, CFG_ENCODER])
def test_fp16_engine_matches_pytorch_and_is_reused(specs, tmp_path, name):
    spec = specs[name]
    config = BackendConfig(model_file_path=str(tmp_path / f"{name}.onnx"), precision="fp16")
    backend = select_backend(spec, ("tensorrt",), config)
    assert backend.name == "tensorrt" and "engine rebuilt" in backend.detail
    errors = max_abs_error(spec, backend, [spec.dims(k) for k in ("min", "opt", "max")], device="cuda")
    assert max(errors) <= FP16_TOL, errors
    manifest = read_manifest(config.engine_path())
    assert manifest.precision == "fp16" and manifest.gpu == current_gpu()
    assert manifest.inputs[0]["profile"]["max"] == list(spec.inputs[0].resolve(spec.dims("max")))
    again = select_backend(spec, ("tensorrt",), config)
    assert again.detail == ""  # current engine reused, no rebuild
    forced = select_backend(spec, ("tensorrt",), BackendConfig(**{**vars(config), "force_engine_update": True}))
    assert "engine rebuilt (forced)" in forced.detail


def test_engine_from_another_tensorrt_version_is_rebuilt(specs, tmp_path):
    spec = specs[CFG_ENCODER]
    config = BackendConfig(model_file_path=str(tmp_path / "cfg.onnx"))
    select_backend(spec, ("tensorrt",), config)
    sidecar = manifest_path(config.engine_path())
    data = json.loads(sidecar.read_text())
    data["versions"]["tensorrt"] = "0.0.1"
    sidecar.write_text(json.dumps(data))
    rebuilt = select_backend(spec, ("tensorrt",), config)
    assert "TensorRT version mismatch" in rebuilt.detail
    assert read_manifest(config.engine_path()).versions["tensorrt"] != "0.0.1"
