"""Time in the map: per-voxel seen times (both fusion paths), per-column times, map files old and new, the answer's
last_seen from the grounded cells, ``leovl-ask``'s report of it."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch
from dialogue_fixtures import FEATURE_DIM, build_tiny_model, fused_store

from leovl_ros.agent import ask_cli
from leovl_ros.agent.answering import (
    Reply,
    answer_last_seen,
    grounded_last_seen,
    named_class,
    object_region,
    primary_object_cells,
)
from leovl_ros.cfg import CondenseConfig, VoxelStore, VoxelStoreConfig, condense
from leovl_ros.cfg.condense import ColumnBatch

D = 8
T0 = 1_764_892_800.0
"""A Unix-epoch stamp (2025-12-05): float64 must keep frame periods apart at this magnitude."""


def _frames(n: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Overlapping random frames (points in a 1 m × 1 m × 0.5 m box, so frames share voxels)."""
    rng = np.random.default_rng(seed)
    return [(torch.tensor(rng.uniform([0, 0, 0], [1, 1, 0.5], (300, 3)), dtype=torch.float32),
             torch.tensor(rng.normal(size=(300, D)), dtype=torch.float32)) for _ in range(n)]


def _stamps(n: int) -> list[float | None]:
    """Camera-rate stamps, every fourth frame unstamped (None), two frames out of order."""
    out: list[float | None] = [T0 + i / 30 if i % 4 != 3 else None for i in range(n)]
    out[5], out[6] = out[6], out[5]
    return out


def _expected_times(store: VoxelStore, frames, stamps) -> tuple[np.ndarray, np.ndarray]:
    """Per voxel of the store (key order): min / max stamp of the stamped frames whose points hit it, NaN if none."""
    keys = store.keys().numpy()
    first, last = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
    for (points, _), stamp in zip(frames, stamps):
        if stamp is None:
            continue
        hit = np.isin(keys, store.voxel_keys(points).numpy())
        first[hit] = np.fmin(first[hit], stamp)
        last[hit] = np.fmax(last[hit], stamp)
    return first, last


@pytest.mark.usefixtures("cfg_backend")
def test_each_voxel_keeps_the_first_and_last_stamp_of_the_frames_that_hit_it():
    frames, stamps = _frames(12), _stamps(12)
    store = VoxelStore(VoxelStoreConfig(feature_dim=D, initial_slots=64))
    for (points, features), stamp in zip(frames, stamps):
        store.fuse(points, features, stamp=stamp)
    first, last = _expected_times(store, frames, stamps)
    assert np.array_equal(store.first_seen().numpy(), first, equal_nan=True)
    assert np.array_equal(store.last_seen().numpy(), last, equal_nan=True)
    assert np.isnan(first).any() and not np.isnan(last).all()  # voxels only unstamped frames hit stay unknown
    assert store.newest_stamp() == max(s for s in stamps if s is not None)
    late = frames[-1][0] + 5.0  # a voxel hit only by an unstamped frame is unknown, never 0
    store.fuse(late, frames[-1][1], stamp=float("nan"))
    assert bool(store.last_seen()[torch.isin(store.keys(), store.voxel_keys(late))].isnan().all())
    with pytest.raises(ValueError, match="stamp"):
        store.fuse(*frames[0], stamp=math.inf)


def test_compiled_and_torch_paths_keep_the_same_times_through_eviction(monkeypatch):
    from leovl_ros.cfg import compiled

    if not compiled.AVAILABLE:
        pytest.skip("numba is not installed: only the torch path exists")
    frames, stamps = _frames(10, seed=1), _stamps(10)
    arrays = []
    for available in (True, False):
        monkeypatch.setattr(compiled, "AVAILABLE", available)
        store = VoxelStore(VoxelStoreConfig(feature_dim=D, capacity=900, initial_slots=64))
        for i, ((points, features), stamp) in enumerate(zip(frames, stamps)):
            store.fuse(points + 0.15 * i, features, stamp=stamp)  # drifting: old voxels get evicted
        assert store.stats()["evicted"] > 0
        arrays.append(store.arrays())
    for k in ("first_seen", "last_seen", "last_tick", "keys"):
        assert torch.equal(arrays[0][k].nan_to_num(-1.0), arrays[1][k].nan_to_num(-1.0)), k


def _member_voxels(store: VoxelStore, batch: ColumnBatch, token: int) -> torch.Tensor:
    """Mask of the store voxels inside a token's cell (voxel centres never lie on cell edges)."""
    centres = store.voxel_centers()[:, :2]
    half = float(batch.cell_size[token]) / 2
    return ((centres - batch.xy[token].double()).abs() < half).all(1)


def test_each_column_spans_the_seen_times_of_what_stands_in_it():
    """A column's times are those of its voxels above the floor bin (the box, not the floor strips around it that
    later frames see), or of all its voxels in a floor-only column."""
    store = VoxelStore(VoxelStoreConfig(feature_dim=D))
    rng = np.random.default_rng(2)
    for i in range(8):  # a 3 m × 2 m floor with a tall box, seen in strips; the last strip unstamped
        x0 = 0.4 * i
        points = np.c_[rng.uniform(x0, x0 + 0.5, 600), rng.uniform(0, 2, 600), rng.uniform(0, 0.02, 600)]
        box = rng.uniform([1.0, 1.0, 0.0], [1.4, 1.4, 1.0], (200, 3)) if i == 2 else np.zeros((0, 3))
        points = torch.tensor(np.r_[points, box], dtype=torch.float32)
        store.fuse(points, torch.randn(len(points), D), stamp=None if i == 7 else T0 + i)
    for config in (CondenseConfig(), CondenseConfig(budget=20), CondenseConfig(voxel_tokens=True)):
        batch = condense(store, config)
        assert batch.first_seen.dtype == torch.float64 and batch.last_seen.shape == (len(batch),)
        first, last = store.first_seen(), store.last_seen()
        above_floor_bin = store.voxel_centers()[:, 2] >= config.bin_height / 2
        for token in range(len(batch)):
            inside = _member_voxels(store, batch, token)
            if (inside & above_floor_bin & ~first.isnan()).any():
                inside &= above_floor_bin
            known = inside & ~first.isnan()
            if known.any():
                assert float(batch.first_seen[token]) == float(first[known].min())
                assert float(batch.last_seen[token]) == float(last[known].max())
            else:
                assert math.isnan(float(batch.first_seen[token])) and math.isnan(float(batch.last_seen[token]))
    batch = condense(store)
    times = batch.last_seen  # the base columns only the unstamped strip hit have no time
    assert times.isnan().any() and not times.isnan().all()
    box = int(torch.argmax(batch.top_height))
    assert float(batch.first_seen[box]) == float(batch.last_seen[box]) == T0 + 2  # not the floor's later T0 + 3


def test_a_column_batch_without_times_is_still_valid():
    """Training scene caches hold no times: a batch built from their fields alone works (times None)."""
    batch = condense(fused_store(), CondenseConfig())
    cached = {k: getattr(batch, k) for k in ("features", "heights", "weights", "mask", "xy", "cell_size", "colour",
                                             "mean_height", "top_height", "level", "key")}
    old = ColumnBatch(**cached).to("cpu")
    assert old.first_seen is None and old.last_seen is None and len(old) == len(batch)
    assert grounded_last_seen(old, [0, 1]) is None


def _write_format_1(store: VoxelStore, path) -> None:
    """A map file as the writer before times wrote it: format version 1, the fuse tick saved as int64 'last_seen',
    no first/last seen times."""
    from safetensors.torch import save_file

    a = store.arrays()
    tensors = {k: a[k].contiguous() for k in ("keys", "feature_sum", "weight", "z_sum", "z_sq_sum", "z_min", "z_max",
                                              "colour_sum", "colour_weight")}
    tensors["last_seen"] = a["last_tick"].contiguous()
    meta = {"format": "leovl-voxel-store", "format_version": "1", "voxel_size": repr(store.config.voxel_size),
            "feature_dim": str(store.config.feature_dim), "tick": str(store.stats()["tick"]),
            "counters": json.dumps({k: store.stats()[k] for k in ("fused_points", "fuse_calls", "evicted",
                                                                   "dropped_new", "evictions")})}
    save_file(tensors, str(path), metadata=meta)


def _stamped_store() -> VoxelStore:
    store = VoxelStore(VoxelStoreConfig(feature_dim=D))
    for i, (points, features) in enumerate(_frames(4)):
        store.fuse(points, features, stamp=T0 + i / 30)
    return store


def test_times_survive_save_and_load_bit_exact(tmp_path):
    store = _stamped_store()
    store.save(tmp_path / "map.safetensors")
    with open(tmp_path / "map.safetensors", "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        assert json.loads(f.read(n))["__metadata__"]["format_version"] == "2"
    back = VoxelStore.from_file(tmp_path / "map.safetensors")
    assert torch.equal(back.first_seen(), store.first_seen()) and torch.equal(back.last_seen(), store.last_seen())
    assert torch.equal(back.arrays()["last_tick"], store.arrays()["last_tick"])


def test_a_map_written_before_times_loads_with_unknown_times(tmp_path):
    store = _stamped_store()
    _write_format_1(store, tmp_path / "old.safetensors")
    old = VoxelStore.from_file(tmp_path / "old.safetensors")
    assert torch.equal(old.keys(), store.keys()) and torch.equal(old.weights(), store.weights())
    assert torch.equal(old.arrays()["last_tick"], store.arrays()["last_tick"])
    assert bool(old.first_seen().isnan().all() and old.last_seen().isnan().all()) and old.newest_stamp() is None
    assert bool(condense(old).last_seen.isnan().all())
    old.fuse(*_frames(1, seed=5)[0], stamp=T0 + 10)  # fusing on: the new frame's voxels get its time
    assert old.newest_stamp() == T0 + 10
    old.save(tmp_path / "upgraded.safetensors")  # and it saves in the current format
    assert VoxelStore.from_file(tmp_path / "upgraded.safetensors").newest_stamp() == T0 + 10


def test_a_map_from_before_times_answers_with_an_unknown_time(tmp_path, model_dir, capsys):
    """leovl-ask on an old map: an answer, its time reported as unknown (not 0)."""
    _write_format_1(fused_store(), tmp_path / "old.safetensors")
    assert ask_cli.main(["--map", str(tmp_path / "old.safetensors"), "--model", str(model_dir), "--json",
                         "what is next to the box?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["success"] and out["cell_ids"] and out["last_seen"] is None and out["last_seen_ago_s"] is None
    assert ask_cli.describe_last_seen(None, None).startswith("last seen: unknown")
    assert (ask_cli.describe_last_seen(None, T0, "there is no sofa")
            == "last seen: never (the answer says the room has none)")
    assert ask_cli.describe_last_seen(None, T0, "no") == "last seen: none (the answer 'no' points at no object)"


def test_leovl_ask_says_when_and_how_long_before_the_newest_frame():
    assert ask_cli.describe_last_seen(T0 + 0.5, T0 + 2.0) == (
        "last seen at t = 1764892800.500 s (2025-12-05T00:00:00.500+00:00), 1.50 s before the map's newest frame")
    assert ask_cli.describe_last_seen(3.25, None) == "last seen at t = 3.250 s"  # simulation time: no date


@pytest.mark.parametrize("damage", ["first_after_last", "infinite", "version_3"])
def test_bad_times_or_unknown_versions_are_refused(tmp_path, damage):
    from safetensors.torch import load_file, save_file

    path = tmp_path / "map.safetensors"
    _stamped_store().save(path)
    tensors = load_file(str(path))
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n))["__metadata__"]
    if damage == "first_after_last":
        tensors["first_seen"][0] = tensors["last_seen"][0] + 1.0
    elif damage == "infinite":
        tensors["last_seen"][0] = math.inf
    else:
        meta["format_version"] = "3"
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ValueError, match="seen times|format version"):
        VoxelStore.from_file(path)


def test_ros_time_of_a_reply():
    assert Reply(success=True, last_seen=None).last_seen_time() == (0, 0)
    assert Reply(success=True, last_seen=T0 + 0.25).last_seen_time() == (int(T0), 250_000_000)
    assert Reply(success=True, last_seen=12.999_999_999_9).last_seen_time() == (13, 0)


def test_the_answer_time_is_the_latest_of_the_primary_objects_grounded_cells():
    """Most-attended cell first; a grounded cell next to it counts, one of another object (3 m away) does not."""
    xy = torch.tensor([[1.0, 1.0], [1.3, 1.0], [4.0, 1.0], [1.0, 1.3]])
    batch = ColumnBatch(features=torch.zeros(4, 1, 1), heights=torch.zeros(4, 1), weights=torch.ones(4, 1),
                        mask=torch.ones(4, 1, dtype=torch.bool), xy=xy, cell_size=torch.full((4,), 0.3),
                        colour=torch.zeros(4, 3), mean_height=torch.zeros(4), top_height=torch.zeros(4),
                        level=torch.zeros(4, dtype=torch.int64), key=torch.arange(4),
                        first_seen=torch.tensor([T0, T0, T0, math.nan], dtype=torch.float64),
                        last_seen=torch.tensor([T0 + 1, T0 + 2, T0 + 9, math.nan], dtype=torch.float64))
    assert primary_object_cells(batch, [0, 2, 1, 3]) == [0, 1, 3]
    assert grounded_last_seen(batch, [0, 2, 1, 3]) == T0 + 2
    assert grounded_last_seen(batch, [2, 0]) == T0 + 9
    assert grounded_last_seen(batch, [3]) is None and grounded_last_seen(batch, []) is None
    # an answer that says the class is not there has no time, whatever the model attended
    assert answer_last_seen(batch, "the red chair", [0, 2, 1, 3]) == T0 + 2
    assert answer_last_seen(batch, "There is no sofa.", [0, 2, 1, 3]) is None
    assert answer_last_seen(batch, "No.", [0, 2, 1, 3]) is None and answer_last_seen(batch, "zero", [0]) is None
    assert answer_last_seen(batch, "yes", [0, 2, 1, 3]) == T0 + 2


def test_the_answer_time_spans_the_answered_objects_cells_the_encoder_sees_as_its_class():
    """A bed over five cells in a row, the answer grounded on two of them: the time is the latest over the five
    (the cells the column classifier, else the 2D encoder, calls "bed" that touch the grounded ones), not over the
    neighbour of another class (cell 5) nor over a second bed 3 m away (cell 6)."""
    from leovl_ros.sim.scene import CLASSES

    xy = torch.tensor([[1.0 + 0.3 * i, 1.0] for i in range(6)] + [[5.0, 1.0]])
    batch = ColumnBatch(features=torch.zeros(7, 1, 1), heights=torch.zeros(7, 1), weights=torch.ones(7, 1),
                        mask=torch.ones(7, 1, dtype=torch.bool), xy=xy, cell_size=torch.full((7,), 0.3),
                        colour=torch.zeros(7, 3), mean_height=torch.zeros(7), top_height=torch.zeros(7),
                        level=torch.zeros(7, dtype=torch.int64), key=torch.arange(7),
                        first_seen=torch.full((7,), T0, dtype=torch.float64),
                        last_seen=T0 + torch.tensor([1.0, 1.0, 2.0, 3.0, 5.0, 9.0, 8.0], dtype=torch.float64))
    probs = np.full((7, len(CLASSES) + 4), 0.01)
    probs[:, CLASSES.index("bed")] = [0.8, 0.7, 0.6, 0.5, 0.45, 0.05, 0.9]
    assert object_region(batch, [0, 1], probs[:, CLASSES.index("bed")]) == [0, 1, 2, 3, 4]
    assert answer_last_seen(batch, "The bed.", [0, 1], probs) == T0 + 5
    assert answer_last_seen(batch, "The bed.", [0, 1]) == T0 + 1  # without the encoder's classes: grounded cells
    assert answer_last_seen(batch, "somewhere", [0, 1], probs) == T0 + 1  # no class named: grounded cells
    assert answer_last_seen(batch, "There is no bed.", [0, 1], probs) is None
    # the column classifier's footprint decides where the model has one: the bed's far end (cell 4), which the
    # 2D encoder reads as 0.1 only, joins at the threshold; the neighbour just below it (cell 5) does not
    from leovl_ros.agent.answering import REGION_MIN_FOOTPRINT

    probs[:, CLASSES.index("bed")] = [0.8, 0.7, 0.6, 0.5, 0.1, 0.05, 0.9]
    assert answer_last_seen(batch, "The bed.", [0, 1], probs) == T0 + 3
    footprints = np.full_like(probs, 0.01)
    footprints[:, CLASSES.index("bed")] = [0.95, 0.99, 0.97, 0.9, REGION_MIN_FOOTPRINT, REGION_MIN_FOOTPRINT - 1e-3,
                                           1.0]
    assert answer_last_seen(batch, "The bed.", [0, 1], probs, footprints=footprints) == T0 + 5
    assert object_region(batch, [2], probs[:, CLASSES.index("bed")], footprints[:, CLASSES.index("bed")]) \
        == [0, 1, 2, 3, 4]
    assert named_class("a Trash can!") == CLASSES.index("trash can") and named_class("the TV") == CLASSES.index("tv")
    assert named_class("the lamp is next to the nightstand") == CLASSES.index("lamp")  # the answer's object: first


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("time_model") / "model", FEATURE_DIM)


def test_the_answer_time_reads_the_regions_voxels_of_the_answered_class():
    """A cabinet's column also holds the wall behind it, seen later: the time is the cabinet's voxels' (those the
    class head reads as at least VOXEL_MIN_SHARE of the likeliest), not the wall's; with no voxels, or none with a
    time, the region's columns decide."""
    from leovl_ros.agent.answering import VOXEL_MIN_SHARE, class_voxel_last_seen
    from leovl_ros.sim.scene import CLASSES

    probs = np.array([0.9, 0.6, VOXEL_MIN_SHARE * 0.9, VOXEL_MIN_SHARE * 0.9 - 1e-3, 0.01])
    times = T0 + np.array([1.0, 3.0, 4.0, 7.0, 9.0])
    assert class_voxel_last_seen(probs, times) == T0 + 4  # the voxel at exactly the share counts, below does not
    assert class_voxel_last_seen(probs, np.where(probs > 0.5, math.nan, times)) == T0 + 4
    assert class_voxel_last_seen(np.zeros(0), np.zeros(0)) is None
    assert class_voxel_last_seen(probs[:2], np.full(2, math.nan)) is None

    xy = torch.tensor([[1.0, 1.0], [1.3, 1.0]])
    batch = ColumnBatch(features=torch.zeros(2, 1, 1), heights=torch.zeros(2, 1), weights=torch.ones(2, 1),
                        mask=torch.ones(2, 1, dtype=torch.bool), xy=xy, cell_size=torch.full((2,), 0.3),
                        colour=torch.zeros(2, 3), mean_height=torch.zeros(2), top_height=torch.zeros(2),
                        level=torch.zeros(2, dtype=torch.int64), key=torch.arange(2),
                        first_seen=torch.full((2,), T0, dtype=torch.float64),
                        last_seen=torch.tensor([T0 + 9, T0 + 2], dtype=torch.float64))
    cabinet = CLASSES.index("cabinet")
    cell_probs = np.full((2, len(CLASSES) + 4), 0.01)
    cell_probs[:, cabinet] = 0.8
    asked = []

    def voxels(cells, cls):
        asked.append((cells, cls))
        return probs, times

    assert answer_last_seen(batch, "The cabinet.", [0, 1], cell_probs, voxels) == T0 + 4
    assert asked == [([0, 1], cabinet)]  # the answer's region and class
    assert answer_last_seen(batch, "The cabinet.", [0, 1], cell_probs) == T0 + 9  # the columns' times
    assert answer_last_seen(batch, "The cabinet.", [0, 1], cell_probs, lambda c, k: (np.zeros(0), np.zeros(0))) \
        == T0 + 9
    assert answer_last_seen(batch, "There is no cabinet.", [0, 1], cell_probs, voxels) is None
    assert len(asked) == 1  # an absent answer reads no voxels


def test_voxels_in_a_cell_by_condensations_convention():
    """A 0.3 m cell holds the voxels centred at 0.30 … 0.55 m (cells are bounded by voxel boundaries, so its centre
    is 0.425 m); the one at 0.60 m is the next cell's; ``min_z`` keeps the voxels standing above the floor bin; the
    selected voxels' features and times are theirs."""
    store = VoxelStore(VoxelStoreConfig(feature_dim=D, voxel_size=0.05))
    points = torch.tensor([[0.30, 0.40, 0.50], [0.60, 0.40, 0.50], [0.55, 0.35, 0.10], [0.45, 0.55, 0.15],
                           [0.90, 0.40, 0.50], [0.25, 0.40, 0.50]], dtype=torch.float32)
    features = torch.arange(6 * D, dtype=torch.float32).reshape(6, D)
    for i in range(6):
        store.fuse(points[i:i + 1], features[i:i + 1], stamp=T0 + i)
    cell = torch.tensor([[0.425, 0.425]], dtype=torch.float32), torch.tensor([0.3], dtype=torch.float32)
    assert sorted(store.last_seen(store.voxels_in_squares(*cell)).tolist()) == [T0, T0 + 2, T0 + 3]
    standing = store.voxels_in_squares(*cell, min_z=0.15)
    assert sorted(store.last_seen(standing).tolist()) == [T0, T0 + 3]
    first = int(torch.nonzero(store.last_seen(standing) == T0))
    assert torch.allclose(store.mean_features(standing)[first].float(), features[0])
    both = store.voxels_in_squares(torch.tensor([[0.425, 0.425], [0.725, 0.425]]), torch.tensor([0.3, 0.3]), 0.15)
    assert sorted(store.last_seen(both).tolist()) == [T0, T0 + 1, T0 + 3]
    assert store.voxels_in_squares(torch.zeros(0, 2), torch.zeros(0)).numel() == 0


@pytest.mark.parametrize("budget", [750, 12])  # refined half cells; coarsened double cells
def test_voxels_in_a_columns_square_are_the_voxels_condensation_put_in_it(budget):
    rng = np.random.default_rng(budget)
    store = VoxelStore(VoxelStoreConfig(feature_dim=D))
    points = torch.tensor(rng.uniform([-1.0, -1.0, 0.0], [1.2, 1.1, 1.2], (3000, 3)), dtype=torch.float32)
    store.fuse(points, torch.tensor(rng.normal(size=(3000, D)), dtype=torch.float32))
    batch = condense(store, CondenseConfig(budget=budget))
    assert len(set(batch.cell_size.tolist())) > 1  # several cell sizes on one map
    weights = store.weights()
    for c in range(len(batch)):
        index = store.voxels_in_squares(batch.xy[c:c + 1], batch.cell_size[c:c + 1])
        assert math.isclose(float(weights[index].sum()), float(batch.weights[c].sum()), rel_tol=1e-9), c
