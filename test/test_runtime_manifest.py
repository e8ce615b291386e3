"""Manifests: JSON round trip, and every kind of stale or mismatched artifact refused with a clear message."""

from __future__ import annotations

import json

import pytest
import torch

from leovl_ros.runtime.manifest import (
    Manifest,
    StaleArtifactError,
    check_manifest,
    io_entries,
    manifest_path,
    read_manifest,
    sha256_file,
    state_dict_sha256,
    write_manifest,
)
from leovl_ros.runtime.specs import cfg_encoder_spec

GPU = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}


@pytest.fixture()
def spec():
    """A small CFG encoder spec (fresh weights)."""
    from leovl_ros.cfg.encoder import CFGEncoder, CFGEncoderConfig

    torch.manual_seed(0)
    return cfg_encoder_spec(CFGEncoder(CFGEncoderConfig(feature_dim=8, hidden_dim=16, llm_dim=12)))


@pytest.fixture()
def engine(tmp_path, spec):
    """A fake engine file (bytes) with a manifest as ``build_engine`` writes it."""
    path = tmp_path / "cfg_encoder.fp16.engine"
    path.write_bytes(b"serialized plan bytes")
    ins, outs = io_entries(spec, with_profile=True)
    manifest = Manifest(
        kind="tensorrt", name=spec.name, file=path.name, file_sha256=sha256_file(path), onnx_sha256="a" * 64,
        state_dict_sha256=state_dict_sha256(spec.module), precision="fp16", inputs=ins, outputs=outs, opset=17,
        versions={"torch": torch.__version__, "tensorrt": "10.3.0"}, gpu=GPU, weights="random-init(seed=0)",
    )
    write_manifest(manifest, path)
    return path, manifest


def test_round_trip_keeps_every_field(engine, spec):
    path, manifest = engine
    assert manifest_path(path).name == "cfg_encoder.fp16.engine.json"
    loaded = read_manifest(path)
    assert loaded == manifest
    n_profile = loaded.inputs[0]["profile"]
    assert loaded.inputs[0]["shape"] == ["N", "L", 8]
    assert n_profile == {"min": [1, 1, 8], "opt": [256, 10, 8], "max": [1024, 32, 8]}
    check_manifest(loaded, path, onnx_sha256="a" * 64, state_dict_sha256=state_dict_sha256(spec.module),
                   precision="fp16", tensorrt_version="10.3.0", gpu=dict(GPU), signature=spec.signature())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"onnx_sha256": "b" * 64}, "ONNX hash mismatch"),
        ({"state_dict_sha256": "c" * 64}, "weights hash mismatch"),
        ({"tensorrt_version": "10.4.0"}, "TensorRT version mismatch: running 10.4.0, engine built with 10.3.0"),
        ({"gpu": {"name": "NVIDIA A100-SXM4-40GB", "compute_capability": "8.0"}}, "GPU mismatch"),
        ({"precision": "fp32"}, "precision mismatch: wanted fp32, artifact is fp16"),
    ],
)
def test_each_mismatch_is_refused_with_its_reason(engine, kwargs, message):
    path, manifest = engine
    with pytest.raises(StaleArtifactError, match=message):
        check_manifest(read_manifest(path), path, **kwargs)


def test_replaced_file_and_other_bindings_are_refused(engine, spec):
    path, _ = engine
    path.write_bytes(b"another plan")
    with pytest.raises(StaleArtifactError, match="file hash mismatch"):
        check_manifest(read_manifest(path), path)
    other = spec.signature()
    other["inputs"][3]["dtype"] = "float32"  # mask passed as float: not what the engine binds
    with pytest.raises(StaleArtifactError, match="binding mismatch"):
        check_manifest(read_manifest(path), signature=other)


def test_several_problems_are_reported_together(engine):
    path, _ = engine
    with pytest.raises(StaleArtifactError) as err:
        check_manifest(read_manifest(path), precision="fp32", tensorrt_version="8.6.1", gpu=None)
    assert "precision mismatch" in str(err.value) and "TensorRT version mismatch" in str(err.value)


def test_missing_corrupt_or_foreign_manifest_is_refused(engine):
    path, manifest = engine
    sidecar = manifest_path(path)
    sidecar.write_text("{not json")
    with pytest.raises(StaleArtifactError, match="unreadable manifest"):
        read_manifest(path)
    sidecar.write_text(json.dumps({**manifest.to_json(), "format_version": 99}))
    with pytest.raises(StaleArtifactError, match="manifest format 99"):
        read_manifest(path)
    sidecar.unlink()
    with pytest.raises(StaleArtifactError, match="no manifest"):
        read_manifest(path)


def test_state_dict_hash_tracks_weights(spec):
    before = state_dict_sha256(spec.module)
    assert before == state_dict_sha256(spec.module)
    with torch.no_grad():
        spec.module.feature_proj.weight[0, 0] += 1e-6
    assert state_dict_sha256(spec.module) != before
