"""Voxel store: incremental == batch in any order, bounded capacity, bit-exact and safe persistence."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from leovl_ros.cfg import VoxelStore, VoxelStoreConfig
from leovl_ros.cfg.voxel_store import pack_keys, unpack_keys

pytestmark = pytest.mark.usefixtures("cfg_backend")  # every test on the compiled and the torch path

D = 8


def _frames(n: int, m: int = 400, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Overlapping random frames (points in a 1 m cube so voxels are shared across frames)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p = torch.tensor(rng.uniform(-0.5, 0.5, (m, 3)), dtype=torch.float32)
        f = torch.tensor(rng.normal(size=(m, D)), dtype=torch.float32)
        c = torch.tensor(rng.uniform(0, 1, (m, 3)), dtype=torch.float32)
        w = torch.tensor(rng.integers(1, 257, m), dtype=torch.int64)
        out.append((p, f, c, w))
    return out


def _store(**kw) -> VoxelStore:
    return VoxelStore(VoxelStoreConfig(feature_dim=D, **kw))


def _identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-equal arrays, NaN (an unknown seen time) equal to NaN."""
    return a.dtype == b.dtype and a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


def _assert_same(a: VoxelStore, b: VoxelStore, rtol: float = 1e-6) -> None:
    """Same voxels, and means/weights/height stats/colours equal to a relative rtol."""
    assert torch.equal(a.keys(), b.keys())
    torch.testing.assert_close(a.weights(), b.weights(), rtol=rtol, atol=0)
    torch.testing.assert_close(a.mean_features(), b.mean_features(), rtol=rtol, atol=1e-12)
    torch.testing.assert_close(a.mean_colours(), b.mean_colours(), rtol=rtol, atol=1e-12)
    torch.testing.assert_close(a.mean_heights(), b.mean_heights(), rtol=rtol, atol=1e-12)
    for k in ("z_min", "z_max"):
        assert torch.equal(a.arrays()[k], b.arrays()[k])


def test_incremental_equals_batch_in_any_order():
    frames = _frames(12)
    inc = _store()
    for p, f, c, w in frames:
        inc.fuse(p, f, c, w)
    batch = _store()
    batch.fuse(*(torch.cat(x) for x in zip(*frames)))
    _assert_same(inc, batch)
    for seed in (1, 2):
        order = np.random.default_rng(seed).permutation(len(frames))
        shuffled = _store(initial_slots=16)  # also exercises storage growth
        for i in order:
            shuffled.fuse(*frames[i])
        _assert_same(inc, shuffled)
    # and a fresh reference computed without the store: mean feature of voxel 0
    keys = inc.voxel_keys(torch.cat([p for p, *_ in frames]))
    sel = keys == inc.keys()[0]
    w = torch.cat([w for *_, w in frames])[sel].double()
    f = torch.cat([f for _, f, _, _ in frames])[sel].double()
    torch.testing.assert_close(inc.mean_features()[0], (f * w[:, None]).sum(0) / w.sum())
    assert float(inc.weights().sum()) == float(torch.cat([w for *_, w in frames]).double().sum())


def test_voxels_are_centred_on_lattice_points_and_keys_round_trip():
    s = _store(voxel_size=0.05)
    pts = torch.tensor([[0.0, 0.0, -1e-7], [0.0, 0.0, 1e-7], [0.024, -0.024, 0.0], [0.026, 0.0, 0.0]])
    s.fuse(pts, torch.zeros(4, D))
    assert len(s) == 2  # a plane at z = 0 lies inside one voxel layer, not across two
    want = torch.tensor([[0.0, 0.0, 0.0], [0.05, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(s.voxel_centers(), want)
    torch.testing.assert_close(s.voxel_centers(torch.tensor([1])), want[1:])  # only the voxels asked for
    ijk = torch.tensor([[-5, 7, 0], [1000, -1000, 3], [-(2**20), 2**20 - 1, 0]])
    assert torch.equal(unpack_keys(pack_keys(ijk)), ijk)
    with pytest.raises(ValueError):
        pack_keys(torch.tensor([[2**20, 0, 0]]))


def test_version_and_validation():
    s = _store()
    v0 = s.version
    p, f, c, w = _frames(1)[0]
    s.fuse(p, f, c, w)
    assert s.version == v0 + 1
    s.fuse(p[:0], f[:0])
    assert s.version == v0 + 1  # nothing fused, nothing changed
    with pytest.raises(ValueError):
        s.fuse(p, f[:, :3])
    with pytest.raises(ValueError):
        s.fuse(p * float("nan"), f)
    s.reset()
    assert len(s) == 0 and s.version == v0 + 2


def test_capacity_bounded_and_keeps_the_most_recent_area():
    """A robot drives 40 m down a corridor; a 3000-voxel store keeps the area it saw last."""
    cap = 3000
    s = _store(capacity=cap, initial_slots=256)
    rng = np.random.default_rng(0)
    last = None
    for i in range(200):
        x0 = 0.2 * i
        p = torch.tensor(np.column_stack([rng.uniform(x0, x0 + 1.0, 1500), rng.uniform(0, 1, 1500),
                                          rng.uniform(0, 0.5, 1500)]), dtype=torch.float32)
        s.fuse(p, torch.ones(len(p), D))
        assert len(s) <= cap
        last = p
    st = s.stats()
    assert st["evicted"] > 0 and st["evictions"] > 0 and st["voxels"] == len(s) <= cap
    assert st["memory_bytes"] <= cap * (D * 8 + 112 + 16)  # slots + sorted index, never more than capacity
    present = set(s.keys().tolist())
    assert set(s.voxel_keys(last).tolist()) <= present  # the latest frame is fully kept
    x = s.voxel_centers()[:, 0]
    assert float(x.min()) > 30.0  # the start of the corridor is forgotten
    # the index is still consistent after evictions: keys sorted, per-voxel data follows its key
    k = s.keys()
    assert bool((k[1:] > k[:-1]).all())
    torch.testing.assert_close(s.mean_features(), torch.ones(len(s), D, dtype=torch.float64))


def test_a_frame_larger_than_capacity_drops_its_weakest_new_voxels():
    s = _store(capacity=100)
    p = torch.tensor(np.random.default_rng(0).uniform(0, 2, (2000, 3)), dtype=torch.float32)
    s.fuse(p, torch.zeros(len(p), D))
    assert len(s) == 100 and s.stats()["dropped_new"] > 0


def test_save_load_is_bit_exact_and_atomic(tmp_path):
    s = _store()
    for fr in _frames(5):
        s.fuse(*fr)
    path = tmp_path / "map.safetensors"
    s.save(path)
    s.save(path)  # overwriting works and leaves no temp files
    assert sorted(os.listdir(tmp_path)) == ["map.safetensors"]
    t = _store()
    t.load(path)
    for k, v in s.arrays().items():
        assert _identical(v, t.arrays()[k]), k
    assert t.stats()["fused_points"] == s.stats()["fused_points"]
    # both continue identically
    extra = _frames(1, seed=9)[0]
    s.fuse(*extra)
    t.fuse(*extra)
    for k, v in s.arrays().items():
        if k != "last_tick":
            assert _identical(v, t.arrays()[k]), k


def test_save_removes_temp_files_of_killed_saves(tmp_path):
    """A save killed before its rename leaves ``.map.safetensors.XXXX.tmp``; the next save to that path removes it
    (and leaves other files alone)."""
    s = _store()
    s.fuse(*_frames(1)[0])
    stale = [tmp_path / ".map.safetensors.k1ll3d.tmp", tmp_path / ".map.safetensors.other.tmp"]
    for f in stale:
        f.write_bytes(b"half a map")
    (tmp_path / ".other.safetensors.x.tmp").write_bytes(b"another map's save in flight")
    s.save(tmp_path / "map.safetensors")
    assert sorted(os.listdir(tmp_path)) == [".other.safetensors.x.tmp", "map.safetensors"]


def test_from_file_takes_the_layout_from_the_file(tmp_path):
    s = VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=0.1))
    s.fuse(*_frames(2)[0])
    s.save(tmp_path / "map.safetensors")
    t = VoxelStore.from_file(tmp_path / "map.safetensors")
    assert t.config.voxel_size == 0.1 and t.config.feature_dim == D and len(t) == len(s)
    (tmp_path / "bad.safetensors").write_bytes(b"not a map")
    with pytest.raises(ValueError, match="not a saved leovl map"):
        VoxelStore.from_file(tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match="not found"):
        VoxelStore.from_file(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "voxel_size", "feature_dim", "missing"])
def test_corrupt_or_mismatched_file_raises_and_leaves_store_untouched(tmp_path, damage):
    src = _store()
    src.fuse(*_frames(1, seed=3)[0])
    path = tmp_path / "map.safetensors"
    src.save(path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    elif damage == "voxel_size":
        VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=0.1)).save(path)
    elif damage == "feature_dim":
        VoxelStore(VoxelStoreConfig(feature_dim=D + 1)).save(path)
    else:
        path = tmp_path / "absent.safetensors"
    dst = _store()
    dst.fuse(*_frames(1, seed=4)[0])
    before = {k: v.clone() for k, v in dst.arrays().items()}
    version = dst.version
    with pytest.raises(ValueError, match=str(path.name)):
        dst.load(path)
    assert dst.version == version
    for k, v in before.items():
        assert _identical(v, dst.arrays()[k])


def test_compiled_and_torch_paths_build_the_same_store(monkeypatch):
    """Same frames (with and without colours and weights, through eviction) → bit-identical stores."""
    from leovl_ros.cfg import compiled

    frames = _frames(10)
    stores = []
    for available in (True, False):
        monkeypatch.setattr(compiled, "AVAILABLE", available)
        s = _store(capacity=2500, initial_slots=64)
        for i, (p, f, c, w) in enumerate(frames):
            s.fuse(p, f, c if i % 2 else None, w if i % 3 else None)
        assert s.stats()["evicted"] > 0 and len(s) <= 2500
        stores.append(s.arrays())
    for k in stores[0]:
        assert _identical(stores[0][k], stores[1][k]), k


def test_the_newest_camera_pose_travels_with_the_map_and_a_bad_one_is_refused(tmp_path):
    """``camera_pose`` ("where are you?") is the last finite pose noted, saved and loaded with the map; a file
    without one loads with none, a malformed one is refused and changes nothing, a reset forgets it."""
    import json
    import struct

    s = _store()
    s.fuse(*_frames(1)[0])
    path = tmp_path / "map.safetensors"
    s.save(path)
    assert _store().camera_pose is None and VoxelStore.from_file(path).camera_pose is None
    pose = np.eye(4)
    pose[:3, 3] = (1.5, -2.0, 1.2)
    s.note_camera(pose)
    s.note_camera(np.full((4, 4), np.nan))  # not a pose: the last one stays
    s.note_camera(np.eye(3))
    assert np.array_equal(s.camera_pose, pose)
    s.save(path)
    t = VoxelStore.from_file(path)
    assert np.array_equal(t.camera_pose, pose) and len(t) == len(s)
    blob = path.read_bytes()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    header["__metadata__"]["camera_pose"] = json.dumps([1.0, 2.0])
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + hlen:])
    with pytest.raises(ValueError, match="malformed metadata"):
        t.load(path)
    assert np.array_equal(t.camera_pose, pose)
    t.reset()
    assert t.camera_pose is None
