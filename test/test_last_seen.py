"""'When did you last see the X?' on rendered held-out rooms: the stamps of the fused frames reach the voxels, the
columns and the answer exactly; ``benchmarks/last_seen.py`` runs and reports its figures."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch

from leovl_ros.agent.answering import Answerer, answer_last_seen, load_agent, primary_object_cells
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.agent.spoken import last_seen_sentence, spoken_answer
from leovl_ros.cfg import VoxelStore, VoxelStoreConfig
from leovl_ros.cfg.pipeline import FrameFuser, load_encoder
from leovl_ros.eval.normalize import says_absent
from leovl_ros.sim.render import render_sequence
from leovl_ros.sim.tasks import TaskConfig, generate_samples
from leovl_ros.sim.world import generate_scene

T0 = 1_764_892_800.0
FPS = 30.0
BENCHMARK = REPO_ROOT / "benchmarks" / "last_seen.py"

pytestmark = pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                                reason="needs the shipped model (models/default)")


@pytest.fixture(scope="module")
def agent():
    return load_agent("")


@pytest.mark.parametrize("room", [0, 1])
def test_fused_frame_stamps_reach_voxels_columns_and_the_answer(benchmark, agent, room):
    seed = benchmark.held_out_seeds(2)[room]
    scene = generate_scene(seed)
    fuser = FrameFuser(load_encoder())
    config = VoxelStoreConfig(feature_dim=fuser.encoder.feature_dim)
    store, hits, stamps, visible = VoxelStore(config), [], [], set()
    for frame in render_sequence(scene, 5, seed=seed, width=320, height=240, fps=FPS):
        frame.stamp += T0
        fuser.fuse(store, frame)
        one = VoxelStore(config)  # the voxels this frame alone hits
        fuser.fuse(one, frame)
        hits.append(one.keys())
        stamps.append(frame.stamp)
        visible.update(int(i) for i, n in zip(*np.unique(frame.instance, return_counts=True)) if i >= 0 and n >= 64)
    # every voxel: first / last seen = the stamp of the first / last frame that hit it (exactly)
    keys = store.keys()
    hit_by = torch.stack([torch.isin(keys, k) for k in hits])  # [frames, voxels]
    when = torch.tensor(stamps, dtype=torch.float64)[:, None].expand_as(hit_by)
    assert bool(hit_by.any(0).all())
    assert torch.equal(store.last_seen(), torch.where(hit_by, when, -torch.inf).max(0).values)
    assert torch.equal(store.first_seen(), torch.where(hit_by, when, torch.inf).min(0).values)
    # the answer's time: one of the fused frames' stamps, the latest over the primary object's region
    answerer = Answerer(agent, MapHandle(store))
    samples = [s for s in generate_samples(scene, np.random.default_rng([seed, 0x7A5C]),
                                           TaskConfig(qa_per_type=4, absent_share=0.0), seen_objects=visible)
               if s.question_type == "last_seen"]
    assert samples, "the walk's first frames show no object to ask about"
    for sample in samples[:2]:
        reply = answerer.ask(sample.question)
        assert reply.success and reply.cell_ids, reply.error
        batch = agent.cached_scene.batch
        assert set(batch.last_seen.tolist()) <= set(stamps)
        cells = primary_object_cells(batch, reply.cell_ids)
        assert cells[0] == reply.cell_ids[0]
        probs = agent.cached_scene.class_probs  # the shipped model reads its 2D encoder's class heads
        assert probs is not None and probs.shape[0] == len(batch)
        voxels = functools.partial(answerer.class_voxels, batch)
        assert reply.last_seen == answer_last_seen(batch, reply.answer, reply.cell_ids, probs, voxels)
        if not says_absent(reply.answer):  # a fused frame's stamp, read from voxels standing in the region's columns
            assert reply.last_seen in stamps
            assert reply.last_seen <= answer_last_seen(batch, reply.answer, reply.cell_ids, probs)


def test_other_wordings_answer_the_asked_class_or_its_absence(benchmark, agent):
    """Asked in words no template uses, the answer names the class the question names (or says the room has none):
    its time is then that object's, not a desk's for "where and when did you last spot the monitor?"; and the model
    reads each wording as a last-seen question, so the ``~/answer`` topic says that time."""
    args = benchmark.parse_args(["--frames", "24"])
    patterns = json.loads(benchmark.HAND_WORDINGS.read_text())["patterns"]
    fuser = FrameFuser(load_encoder())
    asked = 0
    for seed in benchmark.held_out_seeds(3):
        room = benchmark.fuse_room(seed, fuser, args)
        answerer = Answerer(agent, MapHandle(room.store))
        seen = [o for o in room.scene.objects
                if o.id in room.last_visible and sum(p.cls == o.cls for p in room.scene.objects) == 1]
        for obj, pattern in zip(seen, patterns):
            reply = answerer.ask(pattern.format(ref=f"the {obj.cls}"), session_id=f"{seed}-{obj.id}")
            assert reply.success and reply.answer in (obj.cls, f"there is no {obj.cls}"), (pattern, reply.answer)
            if reply.answer == obj.cls:  # read as a last-seen question: the topic says the time, on the map's clock
                now = room.store.newest_stamp() + 3.0
                assert spoken_answer(reply, now) == last_seen_sentence(f"the {obj.cls}", reply.last_seen, now), pattern
            asked += 1
    assert asked >= 12


def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "6", "--questions", "2", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "last_seen" and 1 <= figures["n"] <= 2
    for key in ("share_within_one_frame", "answer_em", "newest_frame_share_within_one_frame",
                "oracle_cells_share_within_one_frame", "region_columns_share_within_one_frame",
                "all_grounded_share_within_one_frame", "top_cell_share_within_one_frame", "answer_on_asked_object",
                "grounded_object_share_within_one_frame", "said_with_time"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert 0.0 < figures["answer_time_ms_median"] <= figures["answer_time_ms_p95"] and figures["map_voxels_median"] > 0
    # every frame is stamped, so only answers that say the object is absent go without a time
    assert figures["unknown"] == figures["absent_answers"] <= figures["n"]
    assert figures["median_abs_error_frames"] is None or figures["median_abs_error_frames"] >= 0
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--min-pixels" in capsys.readouterr().out


def test_grounded_object_is_the_answered_class_first_then_the_largest_overlap(benchmark):
    from types import SimpleNamespace

    from leovl_ros.sim.scene import CLASSES

    class Cells(SimpleNamespace):  # a CFG batch's floor cells: what object_cells reads
        def __len__(self) -> int:
            return len(self.xy)

    scene = next(s for s in map(generate_scene, range(100)) if any(o.support is not None for o in s.objects))
    top = next(o for o in scene.objects if o.support is not None)
    under = next(o for o in scene.objects if o.id == top.support)
    grid = np.stack(np.meshgrid(np.arange(-6, 6, 0.1), np.arange(-6, 6, 0.1)), -1).reshape(-1, 2)
    batch = Cells(xy=torch.tensor(grid), cell_size=torch.full((len(grid),), 0.1, dtype=torch.float64))
    room = benchmark.Room(0, scene, store=None)
    on_top = benchmark.object_cells(top, batch)  # the columns of the object on top also stand on its support
    assert set(on_top) & set(benchmark.object_cells(under, batch))
    assert benchmark.grounded_object(room, batch, on_top, CLASSES.index(top.cls)) is top
    assert benchmark.grounded_object(room, batch, on_top, CLASSES.index(under.cls)) is under
    whole = benchmark.object_cells(under, batch)
    assert benchmark.grounded_object(room, batch, whole, None).id in {under.id, *(o.id for o in scene.objects
                                                                                    if o.support == under.id)}
    assert benchmark.grounded_object(room, batch, [], CLASSES.index(top.cls)) is None


def test_one_frame_apart_at_unix_epoch_stamps_counts_as_within_one_frame(benchmark):
    fps, t0 = 30.0, 1_764_892_800.0
    for i in range(1, 60):  # stamps built as the benchmark builds them; doubles near 1.8e9 s are 2.4e-7 s apart
        truth, answer = t0 + i / fps, t0 + (i + 1) / fps
        assert benchmark.within_one_frame(answer, truth, fps) and benchmark.within_one_frame(truth, answer, fps)
        assert not benchmark.within_one_frame(t0 + (i + 2) / fps, truth, fps)
    assert not benchmark.within_one_frame(None, t0, fps)
