"""'How big is the room?' and 'how big is the bed?': sizes read from the map against the room's truth; prints ONE
JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and asks, each in a dialogue of its own, through the dialogue node's answer path: the room's size in one of
``ROOM_PATTERNS`` (``model.room_questions.measured_room_size``: "about 5 by 4 meters, 20 square meters"), and the
size of every object the walk shows whose class the room holds once in one of ``OBJECT_PATTERNS``
(``model.room_questions.measured_object_size``: "the bed is about 2.1 by 1.5 meters"). The language model was never
trained on either; its own words are no size.

Each of those objects' height is asked too, in one of ``HEIGHT_PATTERNS`` (``model.voxel_questions.measured_height``,
from the voxels of its class in its columns: "the lamp is about 0.5 meters tall").

Truth: the room's inner sides; an object's footprint as it stands (its box's extent along the map's x and y); its
box's height.

Figures: ``room_sides_right`` (both rounded sides as the truth's, in either order), ``room_side_error_median`` (m),
``object_side_error_median`` / ``object_side_error_p90`` (m, both sides of each object, the longer compared with the
longer), ``object_within_30cm`` (both sides within 0.3 m, one cell), ``object_measured``, ``n_objects``, the heights'
``height_measured``, ``height_error_median`` / ``_p90`` (m), ``height_within_10cm`` / ``_20cm`` (of all asked),
``n_heights``; ``taller_right`` over ``n_taller`` comparisons (up to two per room of objects whose heights differ by
more than 0.2 m, in one of ``TALLER_PATTERNS``: ``model.voxel_questions.measured_taller``); ``tallest_right`` over
``n_tallest`` of the training generator's "what is the tallest thing here?" questions about the room, both wordings
(``model.voxel_questions.measured_tallest``; truth the class of the object of the largest own height);
``answer_ms_median``.

    .venv/bin/python benchmarks/sizes.py [--rooms 60] [--split test]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, room_arguments, share  # the same rooms, options, figures

ROOM_PATTERNS: tuple[str, ...] = ("how big is the room?", "What are the dimensions of this space?",
                                  "how large is this room?", "what size is the room?")
"""Hand-written wordings of the room's size (none is in the training data)."""
OBJECT_PATTERNS: tuple[str, ...] = ("how big is the {cls}?", "What size is the {cls}?", "how large is the {cls}?",
                                    "what are the dimensions of the {cls}?")
"""Hand-written wordings of an object's size."""
HEIGHT_PATTERNS: tuple[str, ...] = ("how tall is the {cls}?", "How high is the {cls}?",
                                    "what is the height of the {cls}?", "what height is the {cls}?")
"""Hand-written wordings of an object's height."""

TALL = re.compile(r"about (?P<h>\d+(?:\.\d+)?) meters tall")
TALLER_PATTERNS: tuple[str, ...] = ("which is taller, the {a} or the {b}?", "Is the {a} taller than the {b}?",
                                    "which one is shorter: the {a} or the {b}?")
"""Hand-written height comparisons of two objects."""
TALLER_MARGIN_M = 0.2
"""Pairs whose heights differ by less are not compared (the map's heights are good to ~0.1 m)."""

SIDES = re.compile(r"about (?P<a>\d+(?:\.\d+)?) by (?P<b>\d+(?:\.\d+)?) meters")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def sides(answer: str) -> Optional[tuple[float, float]]:
    """The two sides an answer gives, the longer first; None when it gives none."""
    found = SIDES.search(answer.lower())
    return None if found is None else tuple(sorted((float(found["a"]), float(found["b"])), reverse=True))


def footprint(obj: Any) -> tuple[float, float]:
    """An object's footprint along the map's axes as it stands (yawed box), the longer first."""
    c, s = abs(np.cos(obj.yaw)), abs(np.sin(obj.yaw))
    w, d = float(obj.size[0]), float(obj.size[1])
    return tuple(sorted((w * c + d * s, w * s + d * c), reverse=True))


def ask_room(room: Any, answerer: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The room's size and each seen class-unique object's; one record each."""
    question = ROOM_PATTERNS[int(rng.integers(len(ROOM_PATTERNS)))]
    reply = answerer.ask(question, session_id=f"{room.seed}-room-size")
    truth = tuple(sorted((float(v) for v in room.scene.room.size[:2]), reverse=True))
    records = [{"kind": "room", "question": question, "answer": reply.answer, "said": sides(reply.answer),
                "truth": truth, "ms": reply.latency_ms}]
    objects = [o for o in room.scene.objects if o.id in room.last_visible
               and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    for i, obj in enumerate(objects):
        question = OBJECT_PATTERNS[int(rng.integers(len(OBJECT_PATTERNS)))].format(cls=obj.cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-size-{i}")
        records.append({"kind": "object", "question": question, "answer": reply.answer, "said": sides(reply.answer),
                        "truth": footprint(obj), "ms": reply.latency_ms})
    heights = np.random.default_rng([room.seed, 0x4E16])  # its own draws: the size questions stay as they were
    for i, obj in enumerate(objects):
        question = HEIGHT_PATTERNS[int(heights.integers(len(HEIGHT_PATTERNS)))].format(cls=obj.cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-height-{i}")
        said = TALL.search(reply.answer)
        records.append({"kind": "height", "question": question, "answer": reply.answer,
                        "said": None if said is None else float(said["h"]), "truth": float(obj.size[2]),
                        "ms": reply.latency_ms})
    pairs = [(a, b) for a in objects for b in objects
             if a.id < b.id and abs(float(a.size[2]) - float(b.size[2])) > TALLER_MARGIN_M]
    for i in heights.permutation(len(pairs))[:2]:
        a, b = pairs[int(i)]
        pattern = TALLER_PATTERNS[int(heights.integers(len(TALLER_PATTERNS)))]
        a_taller = float(a.size[2]) > float(b.size[2])
        truth = ("yes" if a_taller else "no") if "than" in pattern else (
            (a.cls if a_taller else b.cls) if "taller" in pattern else (b.cls if a_taller else a.cls))
        reply = answerer.ask(pattern.format(a=a.cls, b=b.cls), session_id=f"{room.seed}-taller-{a.id}-{b.id}")
        records.append({"kind": "taller", "answer": reply.answer, "truth": truth, "said": reply.answer,
                        "right": reply.answer == truth, "ms": reply.latency_ms})
    return records + tallest_records(room, answerer)


def tallest_records(room: Any, answerer: Any) -> list[dict[str, Any]]:
    """The room's generated "what is the tallest thing here?" questions (the training data's generator, both
    wordings, objects the walk shows; truth: the tallest object's class by its own height, as trained); one record
    each."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    records = []
    for wording in ("seen", "unseen"):
        samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x7A11]),
                                   TaskConfig(qa_per_type=8, absent_share=0.0, wording=wording),
                                   seen_objects=set(room.last_visible))
        for i, sample in enumerate(s for s in samples if s.phrasing_family.startswith("size_tallest")):
            reply = answerer.ask(sample.question, session_id=f"{room.seed}-tallest-{wording}-{i}")
            records.append({"kind": "tallest", "answer": reply.answer, "truth": sample.answers[0],
                            "said": reply.answer, "right": exact_match(reply.answer, sample.answers),
                            "ms": reply.latency_ms})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    rooms = [r for r in records if r["kind"] == "room" and r["said"] is not None]
    objects = [r for r in records if r["kind"] == "object"]
    said = [r for r in objects if r["said"] is not None]
    room_errors = [abs(a - b) for r in rooms for a, b in zip(r["said"], r["truth"])]
    errors = [abs(a - b) for r in said for a, b in zip(r["said"], r["truth"])]
    return {"n_rooms": len([r for r in records if r["kind"] == "room"]),
            "room_sides_right": round(sum(tuple(round(v) for v in r["said"]) == tuple(round(v) for v in r["truth"])
                                          for r in rooms) / max(len(rooms), 1), 4),
            "room_side_error_median": round(statistics.median(room_errors), 2) if room_errors else None,
            "n_objects": len(objects), "object_measured": round(len(said) / max(len(objects), 1), 4),
            "object_side_error_median": round(statistics.median(errors), 2) if errors else None,
            "object_side_error_p90": round(float(np.percentile(errors, 90)), 2) if errors else None,
            "object_within_30cm": round(sum(all(abs(a - b) <= 0.3 for a, b in zip(r["said"], r["truth"]))
                                            for r in said) / max(len(objects), 1), 4),
            **height_figures([r for r in records if r["kind"] == "height"]),
            "n_taller": sum(r["kind"] == "taller" for r in records),
            "taller_right": share([r for r in records if r["kind"] == "taller"], "right"),
            "n_tallest": sum(r["kind"] == "tallest" for r in records),
            "tallest_right": share([r for r in records if r["kind"] == "tallest"], "right"),
            "answer_ms_median": round(statistics.median(r["ms"] for r in records), 1) if records else None}


def height_figures(heights: list[dict[str, Any]]) -> dict[str, Any]:
    """The height questions' figures: how many were measured, the error's median and 90th percentile (m), the
    share within 0.1 / 0.2 m (of all asked)."""
    errors = [abs(r["said"] - r["truth"]) for r in heights if r["said"] is not None]
    return {"n_heights": len(heights), "height_measured": round(len(errors) / max(len(heights), 1), 4),
            "height_error_median": round(statistics.median(errors), 2) if errors else None,
            "height_error_p90": round(float(np.percentile(errors, 90)), 2) if errors else None,
            "height_within_10cm": round(sum(e <= 0.1 for e in errors) / max(len(heights), 1), 4),
            "height_within_20cm": round(sum(e <= 0.2 for e in errors) / max(len(heights), 1), 4)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, np.random.default_rng([room.seed, 0x512E])))
    print(json.dumps({"benchmark": "sizes", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
