"""CFG encoder: masking and permutation invariance, dynamic N, ONNX export matching PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import CFGEncoder, CFGEncoderConfig

CFG = CFGEncoderConfig(feature_dim=16, hidden_dim=32, llm_dim=24, num_heads=4)


def _inputs(N: int, L: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(N, L, generator=g) < 0.7
    mask[:, 0] = True
    return (torch.randn(N, L, 16, generator=g), torch.rand(N, L, generator=g) * 2.5,
            torch.rand(N, L, generator=g) * 100 * mask, mask, torch.rand(N, 2, generator=g) * 6,
            torch.full((N,), 0.3))


@pytest.fixture(scope="module")
def encoder() -> CFGEncoder:
    torch.manual_seed(0)
    return CFGEncoder(CFG).eval()


def test_shape_masking_and_voxel_order_invariance(encoder):
    f, h, w, m, xy, cs = _inputs(7, 5)
    out = encoder(f, h, w, m, xy, cs)
    assert out.shape == (7, CFG.llm_dim) and torch.isfinite(out).all()
    f2 = f.clone()
    f2[~m] = 1e3  # padded voxels must not matter
    torch.testing.assert_close(encoder(f2, h, w, m, xy, cs), out)
    perm = torch.randperm(5)
    torch.testing.assert_close(encoder(f[:, perm], h[:, perm], w[:, perm], m[:, perm], xy, cs), out, atol=1e-5, rtol=0)
    # columns are independent: one column alone gives its own row
    torch.testing.assert_close(encoder(f[2:3], h[2:3], w[2:3], m[2:3], xy[2:3], cs[2:3])[0], out[2], atol=1e-5, rtol=0)
    # height and position matter
    assert not torch.allclose(encoder(f, h + 0.5, w, m, xy, cs), out)
    assert not torch.allclose(encoder(f, h, w, m, xy + 1.0, cs), out)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_export_with_dynamic_columns_matches_pytorch(encoder, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "cfg_encoder.onnx"
    names = ["features", "heights", "weights", "mask", "xy", "cell_size"]
    dyn = {n: {0: "N"} for n in names} | {n: {0: "N", 1: "L"} for n in names[:4]} | {"tokens": {0: "N"}}
    torch.onnx.export(encoder, _inputs(5, 4), str(path), input_names=names, output_names=["tokens"],
                      dynamic_axes=dyn, dynamo=False, opset_version=17)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for N, L in [(3, 4), (41, 7), (1, 1)]:
        x = _inputs(N, L, seed=N)
        with torch.no_grad():
            ref = encoder(*x).numpy()
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, x)})[0]
        assert got.shape == ref.shape
        assert float(np.abs(got - ref).max()) < 1e-4
