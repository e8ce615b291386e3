"""'When did you last see the X?': the answer's time from the map against the ground truth; prints ONE JSON line.

On the first ``--rooms`` held-out synthetic rooms (test-split seeds, ``sim.shards.split_for_seed``) it renders the
robot's walk (``sim.render.render_sequence``: ``--frames`` frames at 320×240, the training data's), stamps frame i
at ``--t0 + i / --fps`` (a Unix-epoch start, so float64 precision is exercised as on a robot), fuses the frames one
by one with the fusion node's path (``cfg.pipeline.FrameFuser``), draws the room's ``last_seen`` questions about
present objects it saw (``sim.tasks.generate_samples`` with the training data's rng; no absent classes) and asks
each through ``agent.answering.Answerer``, the dialogue node's answer path: the answer text comes from the model,
``Reply.last_seen`` from the seen times of the answer's primary object's grounded cells, grown over the
adjacent cells the model's column classifier sees as the answered class (``agent.answering.object_region``), read
from the region's voxels of that class (``agent.answering.class_voxel_last_seen``).

Ground truth: the stamp of the last fused frame in which at least ``--min-pixels`` pixels of the object's instance
are visible. The default 64 is one 8×8 cell of the 2D encoder's feature grid at 320×240: lifting makes one point
per feature cell, so a sliver of fewer pixels cannot put a point of its own on the object, and does not count (an
object is only asked about when some frame shows it that much).

Figures: ``share_within_one_frame`` (|last_seen − truth| ≤ one frame period; an unknown time counts as a miss),
``answer_time_ms_median`` / ``_p95`` (what computing ``last_seen`` from the map adds to an answer, over maps of
``map_voxels_median`` voxels),
``median_abs_error_frames`` and ``p90_abs_error_frames`` (over the known ones), ``unknown``, ``absent_answers``
(answers saying "there is no X" about the present object: they carry no time, so they are among the unknown),
``answer_em`` (the answer names the class), ``n``.
Other wordings (``--wordings``, default ``benchmarks/data/handworded_last_seen.json``): each question whose object
is the only one of its class in the room is asked again in one of twelve hand-written patterns;
``hand_worded_share_within_one_frame`` and ``hand_worded_answer_em`` over those, ``hand_worded_generated_*`` the same
questions in the generated wording, ``hand_worded_n``.
Grounding apart from time: ``answer_on_asked_object`` (the answer's region — :func:`grounded_object` — points at the
asked object), ``within_one_frame_on_asked_object`` (the main figure over those questions only) and
``grounded_object_share_within_one_frame`` (over the answers with a time: within one frame of the last frame that
showed the object the region points at, whichever it is — what Rviz's marker and the reply's time say together).
Context: ``newest_frame_share_within_one_frame`` (answering the newest stamp, whatever the question),
``oracle_cells_share_within_one_frame`` (the CFG cells that cover the true object, read by the answer's rule with
the true class: the map's bookkeeping without the model's grounding), and the other rules the answer's time could
have used, on the same grounding: ``region_2d_share_within_one_frame`` (the region grown over the cells the 2D
encoder sees as the class, not the column classifier's footprint: the rule before 2026-12-06 16:30),
``region_columns_share_within_one_frame`` (the region's column times, not its voxels of the class: the rule before
2026-12-06 15:00), ``all_grounded_share_within_one_frame`` (all grounded
cells' columns), ``top_cell_share_within_one_frame`` (the most-attended cell's column) and
``primary_cells_share_within_one_frame`` (the primary object's grounded cells' columns, not grown: the rule before
2026-12-05).

Sixty rooms (~440 questions, under two minutes here) by default: twenty (151 questions) moved by 4 points between
two machines of different CPUs (the renderer's and the encoders' float results differ, so a few maps, truths and
answers do), sixty by 0.2.

    .venv/bin/python benchmarks/last_seen.py [--rooms 60] [--frames 48] [--model models/default]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

HAND_WORDINGS = Path(__file__).resolve().parent / "data" / "handworded_last_seen.json"
"""Other people's wordings of the question (``benchmarks/data/README.md``)."""


def room_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the options that pick the checkpoint and render and stamp the held-out rooms (:func:`fuse_room`)
    — what this benchmark, ``location.py`` and ``inventory.py`` share."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: the shipped models/default)")
    p.add_argument("--rooms", type=int, default=60, help="held-out rooms: the first N seeds of --split")
    p.add_argument("--split", choices=("test", "val"), default="test",
                   help="the training data's split the rooms come from: test (held out, reported) or val (tuning)")
    p.add_argument("--frames", type=int, default=48, help="frames rendered per room (the training data's walk)")
    p.add_argument("--fps", type=float, default=30.0, help="camera rate: frame stamps are --t0 + i / fps")
    p.add_argument("--t0", type=float, default=1_764_892_800.0, help="stamp of frame 0 (s, Unix time)")
    p.add_argument("--min-pixels", type=int, default=64,
                   help="instance pixels a frame must show to count as seeing the object (last_seen.py's docstring)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return p


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=8, help="at most this many last_seen questions per room")
    p.add_argument("--wordings", type=Path, default=HAND_WORDINGS,
                   help="hand-written question patterns to re-ask class-unique objects in ('' skips them)")
    return p.parse_args(argv)


@dataclass
class Room:
    """One fused held-out room: its scene, store, stamps and each object's first and last visible stamps."""

    seed: int
    scene: Any
    store: Any
    stamps: list[float] = field(default_factory=list)
    last_visible: dict[int, float] = field(default_factory=dict)
    """Instance id → stamp of the last frame showing at least ``min_pixels`` of it."""
    first_visible: dict[int, float] = field(default_factory=dict)
    """Instance id → stamp of the first frame showing at least ``min_pixels`` of it."""


def share(rows: list[dict[str, Any]], key: str) -> Optional[float]:
    """The share of ``rows`` whose ``key`` holds (4 decimals); None without rows — for this and the other room
    benchmarks."""
    return round(sum(bool(r[key]) for r in rows) / len(rows), 4) if rows else None


def median_ms(rows: list[dict[str, Any]]) -> Optional[float]:
    """The median of ``rows``' answer latencies (``ms``), 0.1 ms; None without rows."""
    return round(statistics.median(r["ms"] for r in rows), 1) if rows else None


def held_out_seeds(n: int, split: str = "test") -> list[int]:
    """The first n scene seeds of a split of the training data (test: held out; val: for tuning)."""
    from leovl_ros.sim.shards import split_for_seed

    seeds: list[int] = []
    for seed in count():
        if len(seeds) == n:
            return seeds
        if split_for_seed(seed) == split:
            seeds.append(seed)
    return seeds


def fuse_room(seed: int, fuser: Any, args: argparse.Namespace) -> Room:
    """Render the room's walk with stamps, fuse it frame by frame, track each object's last visible stamp."""
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.world import generate_scene

    scene = generate_scene(seed)
    room = Room(seed, scene, VoxelStore(VoxelStoreConfig(feature_dim=fuser.encoder.feature_dim,
                                                         initial_slots=65536)))
    for frame in render_sequence(scene, args.frames, seed=seed, width=320, height=240, fps=args.fps):
        frame.stamp += args.t0
        fuser.fuse(room.store, frame)
        room.stamps.append(frame.stamp)
        ids, pixels = np.unique(frame.instance, return_counts=True)
        shown = {int(i): frame.stamp for i, n in zip(ids, pixels) if i >= 0 and n >= args.min_pixels}
        room.last_visible.update(shown)
        room.first_visible.update({i: t for i, t in shown.items() if i not in room.first_visible})
    return room


def questions(room: Room, limit: int) -> list[Any]:
    """The room's last_seen questions about present objects it saw, drawn with the training data's rng."""
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x7A5C]),
                               TaskConfig(qa_per_type=limit, absent_share=0.0), seen_objects=set(room.last_visible))
    return [s for s in samples if s.question_type == "last_seen" and not s.absent]


def object_cells(obj: Any, batch: Any) -> list[int]:
    """CFG cells covering an object: the cell centre within half a cell of its footprint (training's grounding)."""
    points = np.zeros((len(batch), 3))
    points[:, :2] = batch.xy.double().numpy()
    half = batch.cell_size.double().numpy()[:, None] / 2
    inside = (np.abs(obj.to_local(points)[:, :2]) <= obj.size[:2] / 2 + half).all(1)
    return [int(c) for c in np.nonzero(inside)[0]]


def grounded_object(room: Room, batch: Any, region: list[int], named: Optional[int]) -> Optional[Any]:
    """The room's object the answer's region points at: of the objects whose cells (:func:`object_cells`) it
    overlaps, those of the answered class first (a region over a bed also covers its pillows), then the largest
    overlap; None when it overlaps none."""
    from leovl_ros.sim.scene import CLASSES

    cells = set(region)
    overlaps = [(o.cls == (CLASSES[named] if named is not None else None), len(cells & set(object_cells(o, batch))), o)
                for o in room.scene.objects]
    best = max(overlaps, key=lambda t: t[:2], default=None)
    return best[2] if best is not None and best[1] > 0 else None


def hand_worded(room: Room, obj: Any, patterns: Sequence[str], rng: np.random.Generator) -> Optional[str]:
    """The question about ``obj`` in one of the hand-written ``patterns`` ("the <class>" for its ``{ref}``); None
    when the room holds another object of its class (the class alone would not say which) or there are none."""
    if not patterns or sum(o.cls == obj.cls for o in room.scene.objects) != 1:
        return None
    return patterns[int(rng.integers(len(patterns)))].format(ref=f"the {obj.cls}")


def ask_room(room: Room, answerer: Any, limit: int, patterns: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """Ask the room's questions (and, where :func:`hand_worded` gives one, the same question in a hand-written
    pattern), each in a dialogue of its own; one record per question (answer, times, truth)."""
    from leovl_ros.agent.answering import (
        answer_last_seen,
        answer_region,
        class_voxel_last_seen,
        grounded_last_seen,
        latest_seen,
    )
    from leovl_ros.agent.spoken import spoken_answer
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.eval.normalize import says_absent
    from leovl_ros.sim.scene import CLASSES

    rng = np.random.default_rng([room.seed, 0x4A4D])
    for i, sample in enumerate(questions(room, limit)):
        session = f"{room.seed}-{i}"  # each question its own dialogue: no earlier question in its history
        reply = answerer.ask(sample.question, session_id=session)
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {sample.question!r} rejected: {reply.error}")
        scene = answerer.agent.cached_scene
        batch = scene.batch
        obj = next(o for o in room.scene.objects if o.id == sample.object_ids[0])
        cells = object_cells(obj, batch)
        oracle = class_voxel_last_seen(*answerer.class_voxels(batch, cells, CLASSES.index(obj.cls))) if cells else None
        start = time.perf_counter()  # what reading the time from the map's voxels adds to an answer
        voxels = functools.partial(answerer.class_voxels, batch)
        answer_last_seen(batch, reply.answer, reply.cell_ids, scene.class_probs, voxels, scene.footprints)
        time_ms = (time.perf_counter() - start) * 1e3
        named, region = answer_region(batch, reply.answer, reply.cell_ids, scene.class_probs, scene.footprints)
        pointed = None if reply.last_seen is None else grounded_object(room, batch, region, named)
        other = hand_worded(room, obj, patterns, rng)
        hand = None if other is None else answerer.ask(other, session_id=f"{session}-hand")
        yield {"truth": room.last_visible[obj.id], "last_seen": reply.last_seen,
               "grounded_truth": None if pointed is None else room.last_visible.get(pointed.id),
               "grounded_asked": pointed is not None and pointed.id == obj.id,
               "oracle_cells": oracle if oracle is not None else latest_seen(batch, cells),
               "region_2d": answer_last_seen(batch, reply.answer, reply.cell_ids, scene.class_probs, voxels),
               "region_columns": answer_last_seen(batch, reply.answer, reply.cell_ids, scene.class_probs,
                                                  footprints=scene.footprints),
               "newest_frame": room.stamps[-1],
               "all_grounded": latest_seen(batch, reply.cell_ids), "top_cell": latest_seen(batch, reply.cell_ids[:1]),
               "primary_cells": None if reply.last_seen is None else grounded_last_seen(batch, reply.cell_ids),
               "em": exact_match(reply.answer, sample.answers), "absent_answer": says_absent(reply.answer),
               "said_time": spoken_answer(reply, room.stamps[-1]) != reply.answer,
               "time_ms": time_ms, "map_voxels": len(room.store),
               "hand": None if hand is None else {"question": other, "last_seen": hand.last_seen,
                                                  "em": exact_match(hand.answer, sample.answers),
                                                  "said_time": spoken_answer(hand, room.stamps[-1]) != hand.answer}}


STAMP_SLACK_FRAMES = 1e-3
"""Slack on "within one frame": two float64 Unix-epoch stamps one frame apart differ by one period only to ~1e-5
frames (the spacing of doubles near 1.8e9 s is 2.4e-7 s), far below this and far below a frame."""


def within_one_frame(time: Optional[float], truth: float, fps: float) -> bool:
    """|time − truth| ≤ one frame period (an unknown time is a miss)."""
    return time is not None and abs(time - truth) * fps <= 1 + STAMP_SLACK_FRAMES


def summarise(records: list[dict[str, Any]], fps: float) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    def within(key: str) -> float:
        ok = [within_one_frame(r[key], r["truth"], fps) for r in records]
        return round(sum(ok) / max(len(ok), 1), 4)

    def share(ok: list[bool]) -> Optional[float]:
        return round(sum(ok) / len(ok), 4) if ok else None

    errors = [abs(r["last_seen"] - r["truth"]) * fps for r in records if r["last_seen"] is not None]
    times_ms = [r["time_ms"] for r in records]
    on_asked = [r for r in records if r["grounded_asked"]]
    hand = [r for r in records if r["hand"] is not None]
    timed = [r for r in records if r["last_seen"] is not None]
    return {"n": len(records), "share_within_one_frame": within("last_seen"),
            "answer_on_asked_object": share([r["grounded_asked"] for r in records]),
            "within_one_frame_on_asked_object": share([within_one_frame(r["last_seen"], r["truth"], fps)
                                                       for r in on_asked]),
            "grounded_object_share_within_one_frame": share([r["grounded_truth"] is not None and within_one_frame(
                r["last_seen"], r["grounded_truth"], fps) for r in timed]),
            "hand_worded_n": len(hand),
            "hand_worded_share_within_one_frame": share([within_one_frame(r["hand"]["last_seen"], r["truth"], fps)
                                                         for r in hand]),
            "hand_worded_answer_em": share([r["hand"]["em"] for r in hand]),
            "said_with_time": share([r["said_time"] for r in records]),
            "hand_worded_said_with_time": share([r["hand"]["said_time"] for r in hand]),
            "hand_worded_generated_share_within_one_frame": share([within_one_frame(r["last_seen"], r["truth"], fps)
                                                                   for r in hand]),
            "hand_worded_generated_answer_em": share([r["em"] for r in hand]),
            "median_abs_error_frames": round(statistics.median(errors), 2) if errors else None,
            "p90_abs_error_frames": round(float(np.percentile(errors, 90)), 2) if errors else None,
            "unknown": sum(r["last_seen"] is None for r in records),
            "absent_answers": sum(r["absent_answer"] for r in records),
            "answer_em": round(sum(r["em"] for r in records) / max(len(records), 1), 4),
            "answer_time_ms_median": round(float(np.median(times_ms)), 2) if records else None,
            "answer_time_ms_p95": round(float(np.percentile(times_ms, 95)), 2) if records else None,
            "map_voxels_median": int(np.median([r["map_voxels"] for r in records])) if records else None,
            **{f"{key}_share_within_one_frame": within(key)
               for key in ("newest_frame", "oracle_cells", "region_2d", "region_columns", "all_grounded", "top_cell",
                           "primary_cells")}}


def load_checkpoint(args: argparse.Namespace) -> tuple[Path, Any, Any]:
    """The checkpoint folder ``--model`` names (the shipped one by default), its agent and a frame fuser with its 2D
    encoder, torch at ``--threads``."""
    from leovl_ros.agent.answering import check_model_dir, load_agent
    from leovl_ros.agent.paths import image_encoder_dir
    from leovl_ros.cfg.pipeline import FrameFuser, load_encoder

    torch.set_num_threads(args.threads)
    model_dir = check_model_dir(str(args.model) if args.model else None)
    encoder_dir = image_encoder_dir(model_dir)
    return model_dir, load_agent(str(model_dir)), FrameFuser(load_encoder(path=str(encoder_dir) if encoder_dir else ""))


def ask_held_out_rooms(args: argparse.Namespace,
                       ask: Callable[[Room, Any], list[dict[str, Any]]]) -> tuple[Path, list[dict[str, Any]]]:
    """Load the checkpoint (:func:`load_checkpoint`), fuse each of the first ``--rooms`` held-out rooms
    (:func:`fuse_room`) and collect what ``ask(room, answerer)`` records there (the dialogue node's answer path on
    that room's map); the checkpoint folder and the records."""
    from tqdm import tqdm

    from leovl_ros.agent.answering import Answerer
    from leovl_ros.agent.map_handle import MapHandle

    model_dir, agent, fuser = load_checkpoint(args)
    records: list[dict[str, Any]] = []
    for seed in tqdm(held_out_seeds(args.rooms, args.split), desc="rooms", unit="room", file=sys.stderr):
        room = fuse_room(seed, fuser, args)
        records.extend(ask(room, Answerer(agent, MapHandle(room.store))))
    return model_dir, records


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    patterns = json.loads(args.wordings.read_text())["patterns"] if str(args.wordings) not in ("", ".") else []
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: list(ask_room(room, answerer, args.questions, patterns)))
    print(json.dumps({"benchmark": "last_seen", "model": str(model_dir), "rooms": args.rooms,
                      "frames": args.frames, "fps": args.fps, "min_pixels": args.min_pixels,
                      **summarise(records, args.fps)}))


if __name__ == "__main__":
    main()
