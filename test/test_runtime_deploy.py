"""The nodes' encoder deployment (leovl_ros.runtime.deploy): Isaac ROS parameters, default paths under ROS_HOME,
ONNX exported on first use and reused after, the same features as PyTorch, strict choices fail clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from leovl_ros.runtime import backends
from leovl_ros.runtime.backends import BackendUnavailable
from leovl_ros.runtime.deploy import (
    DeployConfig,
    DeployedImageEncoder,
    deploy_cfg_encoder,
    engine_dir,
)
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import IMAGE_ENCODER

pytest.importorskip("onnxruntime")


def _cpu_only() -> bool:
    for probe in (lambda: backends.ort_provider(cuda=True), backends.import_tensorrt):
        try:
            probe()
            return False
        except BackendUnavailable:
            pass
    return True


cpu_only = pytest.mark.skipif(not _cpu_only(), reason="checks the fall-through on CPU-only machines")


@pytest.fixture(autouse=True)
def _ros_home(tmp_path, monkeypatch) -> Path:
    """Exports go to a private ROS_HOME (never ~/.ros or the package)."""
    monkeypatch.setenv("ROS_HOME", str(tmp_path / "ros_home"))
    monkeypatch.setattr(backends, "_LOGGED", set())
    return tmp_path / "ros_home"


@pytest.fixture(scope="module")
def specs():
    return load_encoder_specs(fresh=True, seed=3, image_size=(48, 64))


def test_engine_dir_follows_ros_home(monkeypatch, tmp_path) -> None:
    assert engine_dir() == tmp_path / "ros_home" / "leovl_engines"
    monkeypatch.delenv("ROS_HOME")
    assert engine_dir() == Path.home() / ".ros" / "leovl_engines"


def test_bad_backend_name_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="backend"):
        DeployConfig(backend="cuda")
    assert DeployConfig().preference()[0] == "tensorrt"
    assert DeployConfig(backend="pytorch").preference() == ("pytorch",)


@cpu_only
def test_image_encoder_exports_on_first_use_then_reuses(specs, _ros_home) -> None:
    source = specs[IMAGE_ENCODER].module.encoder
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    first = DeployedImageEncoder(source, (48, 64), DeployConfig())
    assert first.name == "onnxruntime-cpu"
    assert "ONNX exported" in first.description and "skipped tensorrt" in first.description
    onnx = _ros_home / "leovl_engines" / "image_encoder_64x48.onnx"
    assert onnx.is_file() and onnx.with_name(onnx.name + ".json").is_file()
    again = DeployedImageEncoder(source, (48, 64), DeployConfig())
    assert "ONNX exported" not in again.description  # the manifest matched: reused
    ref = source.encode(rgb)
    got = again.encode(rgb)
    assert got.shape == ref.shape and got.dtype == torch.float32
    assert float((got - ref).abs().max()) < 1e-4
    assert (again.feature_dim, again.stride) == (source.feature_dim, source.stride)


def test_explicit_paths_and_pytorch(specs, tmp_path) -> None:
    source = specs[IMAGE_ENCODER].module.encoder
    onnx = tmp_path / "models" / "enc.onnx"
    deployed = DeployedImageEncoder(source, (48, 64), DeployConfig(backend="onnxruntime-cpu",
                                                                    model_file_path=str(onnx)))
    assert deployed.name == "onnxruntime-cpu" and onnx.is_file()
    plain = DeployedImageEncoder(source, (48, 64), DeployConfig(backend="pytorch"))
    rgb = np.zeros((48, 64, 3), np.uint8)
    assert plain.name == "pytorch" and torch.equal(plain.encode(rgb), source.encode(rgb))


@cpu_only
def test_strict_tensorrt_without_gpu_fails_with_the_reason(specs) -> None:
    with pytest.raises(BackendUnavailable, match="tensorrt"):
        DeployedImageEncoder(specs[IMAGE_ENCODER].module.encoder, (48, 64), DeployConfig(backend="tensorrt"))


def test_non_exportable_encoder_stays_on_pytorch() -> None:
    class Tower(nn.Module):
        feature_dim, stride = 8, 4

        def encode(self, rgb):
            return torch.zeros(1, 8, 2, 2)

    deployed = DeployedImageEncoder(Tower(), (8, 8), DeployConfig())
    assert deployed.name == "pytorch" and "does not export" in deployed.description
    with pytest.raises(ValueError, match="does not export"):
        DeployedImageEncoder(Tower(), (8, 8), DeployConfig(backend="onnxruntime-cpu"))


@cpu_only
def test_cfg_encoder_of_a_model_runs_on_the_selected_backend(_ros_home, tmp_path) -> None:
    """A LeoVLModel answers through the deployed CFG encoder; its module and state dict stay as they were."""
    from dialogue_fixtures import build_tiny_model, fused_store

    from leovl_ros.cfg.condense import condense
    from leovl_ros.model.leovl import load_model

    model = load_model(build_tiny_model(tmp_path / "model")).eval()
    batch = condense(fused_store())
    keys = sorted(model.state_dict())
    with torch.inference_mode():
        ref = model.encode_scene(batch)
    backend = deploy_cfg_encoder(model, DeployConfig())
    assert backend.name == "onnxruntime-cpu" and model.scene_runtime is not None
    assert (_ros_home / "leovl_engines" / "cfg_encoder.onnx").is_file()
    with torch.inference_mode():
        got = model.encode_scene(batch)
    assert got.shape == ref.shape and float((got - ref).abs().max()) < 1e-4
    assert sorted(model.state_dict()) == keys  # the deployed runtime is not a submodule: saving stays possible
    assert deploy_cfg_encoder(model, DeployConfig(backend="pytorch")).name == "pytorch"
    assert model.scene_runtime is None
