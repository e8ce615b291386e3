"""Pure parts of the fusion node: approximate-time sync, hand-over queues, the shared map handle, resizing, config."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from leovl_ros.agent.frame_sync import ApproxTimeSync, BlockingQueue, DropCounters, LatestQueue
from leovl_ros.agent.map_handle import MapBusyError, MapHandle
from leovl_ros.agent.node_config import FusionConfig
from leovl_ros.cfg.pipeline import resize_frame
from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

MS = 1_000_000


class Recorder:
    """Collects the sync's matches and drops."""

    def __init__(self) -> None:
        self.matches: list[tuple[int, list]] = []
        self.drops: list[tuple[int, list[int]]] = []

    def sync(self, n: int = 3, slops=(0.01, 0.05), queue: int = 4) -> ApproxTimeSync:
        return ApproxTimeSync(n, 0.01, queue, lambda s, m: self.matches.append((s, m)),
                              lambda s, m, missing: self.drops.append((s, missing)), slops_s=list(slops)[: n - 1])


def test_sync_matches_nearest_within_slop_in_any_arrival_order() -> None:
    rec = Recorder()
    sync = rec.sync()
    sync.add(2, 100 * MS, "pose100")
    sync.add(0, 103 * MS, "c103")           # waits: no depth yet
    sync.add(1, 90 * MS, "d90")             # outside 10 ms
    assert rec.matches == []
    sync.add(1, 105 * MS, "d105")
    assert rec.matches == [(103 * MS, ["c103", "d105", "pose100"])]
    sync.add(1, 133 * MS, "d133")
    sync.add(2, 134 * MS, "pose134")
    sync.add(0, 133 * MS, "c133")
    assert rec.matches[-1] == (133 * MS, ["c133", "d133", "pose134"]) and rec.drops == []


def test_sync_drops_hopeless_and_overflowing_frames_with_missing_streams() -> None:
    rec = Recorder()
    sync = rec.sync(queue=3)
    sync.add(0, 100 * MS, "c100")
    sync.add(1, 100 * MS, "d100")
    sync.add(2, 300 * MS, "pose300")         # newer pose beyond the 50 ms pose slop → c100 can never match
    assert rec.drops == [(100 * MS, [2])]
    for t in (400, 433, 466, 500):           # no depth for these: the queue of 3 overflows once
        sync.add(0, t * MS, f"c{t}")
    assert rec.drops[-1] == (400 * MS, [1, 2]) and len(rec.drops) == 2
    sync.reset()
    assert not sync.seen(0) and not sync.seen(2)
    sync.add(0, 600 * MS, "c600")
    sync.add(1, 600 * MS, "d600")
    sync.add(2, 620 * MS, "pose620")
    assert rec.matches == [(600 * MS, ["c600", "d600", "pose620"])]


def test_sync_two_streams_and_slop_update() -> None:
    rec = Recorder()
    sync = rec.sync(n=2, slops=(0.0,))
    sync.add(0, 10 * MS, "c")
    sync.add(1, 11 * MS, "d")               # 1 ms off with zero slop, and newer: c can never match
    assert rec.matches == [] and rec.drops == [(10 * MS, [1])]
    sync.set_slops([0.002])
    sync.add(0, 50 * MS, "c50")
    sync.add(1, 51 * MS, "d51")
    assert rec.matches == [(50 * MS, ["c50", "d51"])]
    with pytest.raises(ValueError):
        sync.set_slops([-1.0])


def test_latest_queue_replaces_and_blocking_queue_back_pressure() -> None:
    slot: LatestQueue[int] = LatestQueue(1)
    assert slot.put(1) is None and slot.put(2) == 1
    assert slot.get(0.01) == 2 and slot.get(0.01) is None
    queue: BlockingQueue[int] = BlockingQueue(2)
    queue.put(1)
    queue.put(2)
    done = threading.Event()
    producer = threading.Thread(target=lambda: (queue.put(3), done.set()))
    producer.start()
    time.sleep(0.2)
    assert not done.is_set() and len(queue) == 2, "put blocks while the queue is full"
    assert queue.get(0.1) == 1
    producer.join(2.0)
    assert done.is_set() and [queue.get(0.1), queue.get(0.1)] == [2, 3]
    queue.close()
    assert queue.get(0.01) is None


def test_drop_counters() -> None:
    counters = DropCounters(["a", "b"])
    threads = [threading.Thread(target=lambda: [counters.add("a") for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.snapshot() == {"a": 4000, "b": 0} and counters.total() == 4000


def small_store() -> VoxelStore:
    store = VoxelStore(VoxelStoreConfig(voxel_size=0.1, feature_dim=4))
    store.fuse(torch.rand(500, 3), torch.randn(500, 4), torch.rand(500, 3))
    return store


def test_map_handle_save_load_reset_and_busy(tmp_path) -> None:
    handle = MapHandle(small_store())
    n, version = len(handle), handle.version
    path = handle.save(tmp_path / "sub" / "map.safetensors")
    assert path.is_file()
    with handle.exclusive_io("save"):
        assert handle.busy
        for call in (lambda: handle.save(tmp_path / "x"), lambda: handle.load(path), handle.reset):
            with pytest.raises(MapBusyError, match="save is running"):
                call()
    assert not handle.busy and len(handle) == n
    (tmp_path / "bad").write_bytes(b"\x00" * 64)
    for bad in (tmp_path / "bad", tmp_path / "missing"):
        with pytest.raises(ValueError):
            handle.load(bad)
    assert len(handle) == n and handle.version == version, "a failed load keeps the map"
    handle.reset()
    assert len(handle) == 0
    handle.load(path)
    assert len(handle) == n and handle.version > version
    with handle.locked() as store:
        assert store is handle.locked().__enter__()  # the same store object is shared


def test_resize_frame_scales_intrinsics_consistently() -> None:
    h, w = 48, 64
    K = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])
    rgb = np.zeros((h, w, 3), np.uint8)
    depth = np.full((h, w), 2.0, np.float32)
    depth[10, 20] = np.nan
    rgb2, depth2, K2 = resize_frame(rgb, depth, K, (32, 24))
    assert rgb2.shape == (24, 32, 3) and depth2.shape == (24, 32)
    assert np.allclose(K2, [[25.0, 0, 15.5], [0, 25.0, 11.5], [0, 0, 1]]), "principal point stays at the centre"
    assert set(np.unique(depth2[np.isfinite(depth2)])) == {2.0}, "nearest sampling invents no depth"
    same = resize_frame(rgb, depth, K, (w, h))
    assert same[0] is rgb and same[2] is K


@pytest.mark.parametrize("bad", [dict(pose_source="gps"), dict(mode="fast"), dict(qos="best"),
                                 dict(min_depth=5.0, max_depth=1.0), dict(max_invalid_fraction=1.5),
                                 dict(sync_queue_size=0), dict(base_to_optical=[1.0, 2.0]),
                                 dict(status_rate=0.0),
                                 dict(voxel_size=0.1), dict(voxel_size=0.05, cell_size=0.25)])
def test_fusion_config_rejects_bad_values(bad) -> None:
    with pytest.raises(ValueError):
        FusionConfig(**bad)
    FusionConfig()
