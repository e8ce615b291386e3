"""ONNX export of both encoders: checker, dynamic axes, ONNX Runtime == PyTorch, reuse only while current."""

from __future__ import annotations

import pytest
import torch

from leovl_ros.runtime.backends import OnnxRuntimeBackend
from leovl_ros.runtime.manifest import read_manifest, sha256_file
from leovl_ros.runtime.onnx_export import ensure_onnx, export_onnx, max_abs_error
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

TOL = 1e-4


@pytest.fixture(scope="module")
def specs():
    """Seeded fresh encoders, small image size to keep the test fast."""
    return load_encoder_specs(fresh=True, seed=1, image_size=(64, 96), tokens=(1, 64, 256), bins=(1, 6, 16))


@pytest.fixture(scope="module")
def exported(specs, tmp_path_factory):
    """Both encoders exported once for the module."""
    out = tmp_path_factory.mktemp("onnx")
    return {name: (export_onnx(spec, out / f"{name}.onnx"), out / f"{name}.onnx") for name, spec in specs.items()}


@pytest.mark.parametrize("name", [IMAGE_ENCODER, CFG_ENCODER])
def test_onnx_graph_has_named_bindings_and_dynamic_axes(specs, exported, name):
    model = onnx.load(str(exported[name][1]))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    graph_inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input
    }
    spec = specs[name]
    assert list(graph_inputs) == spec.input_names
    assert [o.name for o in model.graph.output] == spec.output_names
    for t in spec.inputs:  # every dynamic axis stays symbolic with its name, every fixed one keeps its size
        assert graph_inputs[t.name] == list(t.shape)


@pytest.mark.parametrize("name", [IMAGE_ENCODER, CFG_ENCODER])
def test_onnxruntime_matches_pytorch_across_dynamic_sizes(specs, exported, name):
    spec = specs[name]
    backend = OnnxRuntimeBackend(spec, exported[name][1], cuda=False)
    cases = [spec.dims("min"), spec.dims("opt"), spec.dims("max")]
    if name == CFG_ENCODER:
        cases.append({"N": 750, "L": 10})  # the paper's token cap, outside the small test profile: ONNX has no cap
    errors = max_abs_error(spec, backend, cases, seed=3)
    assert max(errors) <= TOL, errors
    out = backend(**spec.sample(cases[-1]))[spec.output_names[0]]
    assert out.shape == spec.outputs[0].resolve(cases[-1]) and torch.isfinite(out).all()
    assert float(out.abs().max()) > 1e-3  # a real, non-degenerate output was compared


def test_cfg_encoder_onnx_matches_on_a_fused_scene(specs, exported):
    """Real inputs: a synthetic room fused by the exported 2D encoder and condensed (padding, ragged columns)."""
    from leovl_ros.cfg import VoxelStore, VoxelStoreConfig, condense, fuse_frame
    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.world import generate_scene

    image_encoder = specs[IMAGE_ENCODER].module.encoder
    store = VoxelStore(VoxelStoreConfig(feature_dim=image_encoder.feature_dim))
    for frame in render_sequence(generate_scene(3), 3, seed=0, width=160, height=120):
        fuse_frame(store, frame, image_encoder)
    batch = condense(store)
    assert len(batch) > 20 and not batch.mask.all()  # ragged columns: padding is exercised
    spec = specs[CFG_ENCODER]
    inputs = {n: getattr(batch, n) for n in spec.input_names}
    ref = spec.module(*inputs.values()).detach()
    got = OnnxRuntimeBackend(spec, exported[CFG_ENCODER][1], cuda=False)(**inputs)["tokens"]
    assert float((got - ref).abs().max()) <= TOL


def test_ensure_onnx_reuses_current_file_and_reexports_after_weight_change(specs, tmp_path):
    spec = load_encoder_specs(fresh=True, seed=2, image_size=(32, 32))[CFG_ENCODER]
    path = tmp_path / "cfg.onnx"
    first, reason = ensure_onnx(spec, path)
    assert reason == "cfg.onnx missing"
    again, reason = ensure_onnx(spec, path)
    assert reason == "" and again.file_sha256 == first.file_sha256 == sha256_file(path)
    with torch.no_grad():
        spec.module.projector[-1].bias.add_(0.5)  # new weights → the export is stale
    updated, reason = ensure_onnx(spec, path)
    assert "weights hash mismatch" in reason
    assert updated.state_dict_sha256 != first.state_dict_sha256 and read_manifest(path) == updated
    backend = OnnxRuntimeBackend(spec, path, cuda=False)
    assert max(max_abs_error(spec, backend, [{"N": 5, "L": 3}])) <= TOL  # the new file carries the new weights
