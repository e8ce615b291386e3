"""CUDA: lifting, fusion, condensation and the encoder give the CPU results on the GPU (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.cfg import (
    CFGEncoder,
    CFGEncoderConfig,
    LiftConfig,
    VoxelStore,
    VoxelStoreConfig,
    condense,
    lift,
)

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])


def _frames(n: int):
    """Random-ish room views: a tilted plane plus boxes, with holes, and a pose per frame."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        ramp = np.linspace(0, 1.5, 480)[:, None] * np.ones((1, 640))
        depth = (2.0 + rng.uniform(-0.5, 0.5) + ramp).astype(np.float32)
        depth[rng.random((480, 640)) < 0.05] = 0.0
        depth[100:200, 300:420] = 1.2
        rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
        pose = np.eye(4)
        pose[:3, 3] = [0.1 * i, 0.0, 1.2]
        out.append((depth, rgb, pose))
    return out


@pytest.mark.parametrize("hw", [(30, 40), (29, 41)])
def test_lift_cuda_matches_cpu(hw):
    depth, rgb, pose = _frames(1)[0]
    cpu = lift(depth, K, pose, hw, rgb=rgb)
    gpu = lift(depth, K, pose, hw, rgb=rgb, config=LiftConfig(device="cuda"))
    assert gpu.points.is_cuda
    assert torch.equal(gpu.cell_index.cpu(), cpu.cell_index)
    torch.testing.assert_close(gpu.points.cpu(), cpu.points, atol=1e-4, rtol=0)
    torch.testing.assert_close(gpu.colours.cpu(), cpu.colours, atol=1e-5, rtol=0)


def test_store_condense_encoder_on_cuda_match_cpu(tmp_path):
    D = 16
    g = torch.Generator().manual_seed(0)
    stores = {d: VoxelStore(VoxelStoreConfig(feature_dim=D, device=d)) for d in ("cpu", "cuda")}
    batch = VoxelStore(VoxelStoreConfig(feature_dim=D, device="cuda"))
    all_pts, all_f, all_c, all_w = [], [], [], []
    for depth, rgb, pose in _frames(6):
        li = lift(depth, K, pose, (30, 40), rgb=rgb)
        f = torch.randn(len(li), D, generator=g)
        for d, s in stores.items():
            s.fuse(li.points.to(d), f.to(d), li.colours.to(d), li.pixels.to(d))
        all_pts.append(li.points), all_f.append(f), all_c.append(li.colours), all_w.append(li.pixels)
    batch.fuse(torch.cat(all_pts).cuda(), torch.cat(all_f).cuda(), torch.cat(all_c).cuda(), torch.cat(all_w).cuda())
    cpu, gpu = stores["cpu"], stores["cuda"]
    assert torch.equal(gpu.keys().cpu(), cpu.keys()) and torch.equal(batch.keys(), gpu.keys())
    torch.testing.assert_close(gpu.mean_features().cpu(), cpu.mean_features(), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(batch.mean_features(), gpu.mean_features(), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(gpu.weights().cpu(), cpu.weights(), rtol=1e-12, atol=0)
    path = tmp_path / "gpu.safetensors"
    gpu.save(path)
    back = VoxelStore(VoxelStoreConfig(feature_dim=D, device="cuda"))
    back.load(path)
    for k, v in gpu.arrays().items():
        torch.testing.assert_close(v, back.arrays()[k], rtol=0, atol=0, equal_nan=True, msg=k)
    bc, bg = condense(cpu), condense(gpu)
    assert torch.equal(bg.key.cpu(), bc.key) and bg.voxel_tokens == bc.voxel_tokens
    torch.testing.assert_close(bg.features.cpu(), bc.features, atol=1e-5, rtol=0)
    torch.manual_seed(0)
    enc = CFGEncoder(CFGEncoderConfig(feature_dim=D)).eval()
    x = (bc.features, bc.heights, bc.weights, bc.mask, bc.xy, bc.cell_size)
    with torch.no_grad():
        ref = enc(*x)
        out = enc.cuda()(*(t.cuda() for t in x))
    assert float((out.cpu() - ref).abs().max()) < 1e-3
