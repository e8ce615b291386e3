"""CFG encoder: masking and permutation invariance, dynamic N, ONNX export matching PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import CFGEncoder, CFGEncoderConfig

CFG = CFGEncoderConfig(feature_dim=16, hidden_dim=32, llm_dim=24, num_heads=4)
ANCHORED = CFGEncoderConfig(feature_dim=16, hidden_dim=32, llm_dim=24, num_heads=4, out_norm=True,
                            anchor_classes=5, anchor_colours=3)


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


def _anchored(seed: int = 0) -> CFGEncoder:
    """An encoder with output norm and label anchors: class c reads feature c, colour k feature 5 + k."""
    torch.manual_seed(seed)
    enc = CFGEncoder(ANCHORED).eval()
    heads = torch.nn.Conv2d(16, 5, 1), torch.nn.Conv2d(16, 3, 1)
    with torch.no_grad():
        for head, offset in zip(heads, (0, 5)):
            head.weight.zero_()
            head.bias.zero_()
            for i in range(head.out_channels):
                head.weight[i, offset + i] = 1.0
    enc.set_label_anchors(*heads, torch.randn(8, 24))
    return enc


def test_label_anchors_add_the_decoded_labels_embeddings():
    enc = _anchored()
    f = torch.zeros(1, 3, 16)
    f[..., 2] = f[..., 5 + 1] = 30.0  # decoded as class 2 and colour 1 with near certainty
    mask = torch.tensor([[True, True, False]])
    f[0, 2] = 1e3  # padding never counts
    anchor = enc.label_anchors(f, mask)[0]
    torch.testing.assert_close(anchor, enc.anchor_table[2] + enc.anchor_table[5 + 1], atol=1e-3, rtol=0)
    tokens = enc(f, torch.ones(1, 3), torch.ones(1, 3), mask, torch.zeros(1, 2), torch.full((1,), 0.3))
    assert torch.isfinite(tokens).all()
    assert not enc.anchor_heads.weight.requires_grad and enc.anchor_table.requires_grad
    with pytest.raises(ValueError, match="shapes do not fit"):
        enc.set_label_anchors(torch.nn.Conv2d(16, 4, 1), torch.nn.Conv2d(16, 3, 1), torch.randn(7, 24))
    with pytest.raises(ValueError, match="without label anchors"):
        CFGEncoder(CFG).set_label_anchors(torch.nn.Conv2d(16, 5, 1), torch.nn.Conv2d(16, 3, 1), torch.randn(8, 24))
    with pytest.raises(ValueError, match="both"):
        CFGEncoderConfig(anchor_classes=3)


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
@pytest.mark.parametrize("anchored", [False, True], ids=["plain", "anchors+norm"])
def test_onnx_export_with_dynamic_columns_matches_pytorch(encoder, tmp_path, anchored):
    ort = pytest.importorskip("onnxruntime")
    encoder = _anchored() if anchored else encoder
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
