"""Backend selection: falls through TensorRT → ONNX Runtime → PyTorch with reasons, logged once, same outputs."""

from __future__ import annotations

import logging

import pytest
import torch

from leovl_ros.runtime import backends
from leovl_ros.runtime.backends import BackendConfig, BackendUnavailable, select_backend
from leovl_ros.runtime.manifest import read_manifest
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER

pytest.importorskip("onnxruntime")


def _gpu_runtime_available() -> bool:
    """TensorRT with CUDA, or ONNX Runtime's CUDA provider: then the fall-through stops earlier than on CPU."""
    try:
        backends.ort_provider(cuda=True)
        return True
    except BackendUnavailable:
        pass
    try:
        backends.import_tensorrt()
        return True
    except BackendUnavailable:
        return False


without_tensorrt = pytest.mark.skipif(_gpu_runtime_available(), reason="checks the fall-through on CPU-only machines")


@pytest.fixture()
def spec():
    """A fresh, seeded CFG encoder spec."""
    return load_encoder_specs(fresh=True, seed=4, image_size=(32, 48))[CFG_ENCODER]


@pytest.fixture(autouse=True)
def _fresh_log_memory(monkeypatch):
    """Each test starts with an empty 'already logged' set (the process-wide one is the behaviour under test)."""
    monkeypatch.setattr(backends, "_LOGGED", set())


@without_tensorrt
def test_falls_through_to_onnxruntime_cpu_with_reasons_logged_once(spec, tmp_path, caplog):
    config = BackendConfig(model_file_path=str(tmp_path / "cfg.onnx"))
    first = select_backend(spec, config=config)
    assert first.detail == "ONNX exported (cfg.onnx missing)"
    assert read_manifest(tmp_path / "cfg.onnx").name == CFG_ENCODER
    with caplog.at_level(logging.INFO, logger="leovl_ros.runtime"):
        backend = select_backend(spec, config=config)
        again = select_backend(spec, config=config)
    assert backend.name == again.name == "onnxruntime-cpu"
    assert backend.detail == ""  # the current export is reused
    skipped = dict(backend.fallbacks)
    assert list(skipped) == ["tensorrt", "onnxruntime-cuda"]
    assert skipped["tensorrt"] and "CUDAExecutionProvider" in skipped["onnxruntime-cuda"]
    records = [r.getMessage() for r in caplog.records if r.name == "leovl_ros.runtime"]
    assert len(records) == 1, records
    assert records[0].startswith("cfg_encoder: using onnxruntime-cpu (skipped tensorrt: ")
    x = spec.sample({"N": 40, "L": 7}, seed=1)
    ref = select_backend(spec, ("pytorch",), config)(**x)["tokens"]
    assert float((backend(**x)["tokens"] - ref).abs().max()) <= 1e-4


def test_without_model_file_path_pytorch_is_used(spec, caplog):
    with caplog.at_level(logging.INFO, logger="leovl_ros.runtime"):
        backend = select_backend(spec)
    assert backend.name == "pytorch"
    assert dict(backend.fallbacks)["onnxruntime-cpu"] == "model_file_path not set"
    records = [r.getMessage() for r in caplog.records if r.name == "leovl_ros.runtime"]
    assert len(records) == 1 and "using pytorch" in records[0]
    out = backend(**spec.sample({"N": 3, "L": 2}))
    assert out["tokens"].shape == (3, spec.outputs[0].shape[1])


def test_image_encoder_backend_runs_the_export(tmp_path):
    spec = load_encoder_specs(fresh=True, seed=5, image_size=(40, 56))[IMAGE_ENCODER]
    backend = select_backend(spec, ("onnxruntime-cpu",), BackendConfig(model_file_path=str(tmp_path / "img.onnx")))
    x = spec.sample({"B": 2})
    got = backend(**x)["features"]
    assert got.shape == (2, *spec.outputs[0].shape[1:])
    with torch.inference_mode():
        assert float((got - spec.module(x["image"])).abs().max()) <= 1e-4


@without_tensorrt
def test_only_unavailable_backends_raise_with_all_reasons(spec, tmp_path):
    config = BackendConfig(model_file_path=str(tmp_path / "cfg.onnx"))
    with pytest.raises(BackendUnavailable, match="no usable backend: tensorrt: .*onnxruntime-cuda: "):
        select_backend(spec, ("tensorrt", "onnxruntime-cuda"), config)


def test_bad_configuration_throws(spec):
    with pytest.raises(ValueError, match="unknown backends"):
        select_backend(spec, ("tensorrt", "openvino"))
    with pytest.raises(ValueError, match="binding names"):
        select_backend(spec, config=BackendConfig(input_binding_names=["input_tensor"]))
    with pytest.raises(ValueError, match="precision"):
        BackendConfig(precision="int8")
    with pytest.raises(ValueError, match="missing inputs"):
        select_backend(spec, ("pytorch",))(features=torch.zeros(1, 1, 32))


def test_engine_path_follows_isaac_defaults(tmp_path):
    assert BackendConfig(model_file_path=str(tmp_path / "m.onnx")).engine_path() == tmp_path / "m.fp16.engine"
    assert BackendConfig(engine_file_path="/x/plan.engine").engine_path().name == "plan.engine"
    assert BackendConfig().engine_path() is None


def test_backend_image_encoder_follows_the_image_encoder_contract(tmp_path):
    import numpy as np

    from leovl_ros.model.image_encoder import ImageEncoder
    from leovl_ros.runtime.image_backend import BackendImageEncoder

    spec = load_encoder_specs(fresh=True, seed=6, image_size=(48, 64))[IMAGE_ENCODER]
    backend = select_backend(spec, ("onnxruntime-cpu",), BackendConfig(model_file_path=str(tmp_path / "img.onnx")))
    encoder = BackendImageEncoder(backend, stride=spec.module.encoder.stride)
    assert isinstance(encoder, ImageEncoder) and encoder.feature_dim == spec.module.encoder.feature_dim
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    got = encoder.encode(rgb)
    assert float((got - spec.module.encoder.encode(rgb)).abs().max()) <= 1e-4
    with pytest.raises(ValueError, match="takes 48×64 images"):
        encoder.encode(np.zeros((40, 64, 3), np.uint8))
