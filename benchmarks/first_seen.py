"""'When did you first see the bed?' and 'what did you see first?': the map's first-seen times against the walk's;
prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders, stamps and fuses the robot's walk as
``benchmarks/last_seen.py`` does and asks, each in a dialogue of its own, "when did you first see the X?" (one of
``PATTERNS``) about every class-unique object the walk shows, through the dialogue node's answer path
(``agent.answering.Answerer``: the earliest first-seen time of the object's voxels of its class,
``model.voxel_questions.object_first_seen``, in ``Reply.first_seen``), and once per room "what did you see first?"
(``model.room_questions.measured_latest`` with the columns' first-seen times).

Truth: the stamp of the first fused frame in which at least ``--min-pixels`` pixels of the object are visible (as
``last_seen.py``'s last one); for the list, the classes of the objects first visible within 0.5 s of the walk's start.

Figures: ``share_within_one_frame`` (|first_seen − truth| ≤ one frame period; none counts as a miss),
``median_abs_error_frames``, ``answered`` (a time given), ``list_precision`` / ``list_recall`` (classes of "what did
you see first?"), ``n``, ``answer_ms_median``.

    .venv/bin/python benchmarks/first_seen.py [--rooms 60] [--split test]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

PATTERNS: tuple[str, ...] = ("when did you first see the {cls}?", "When did you see the {cls} for the first time?",
                             "when was the {cls} first seen")
"""Hand-written wordings (none is in the training data)."""
EARLIEST_WINDOW_S = 0.5
"""The list's truth: objects first visible this soon after the walk's start (``room_questions.LATEST_WINDOW_S``)."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def ask_room(room: Any, answerer: Any, fps: float) -> list[dict[str, Any]]:
    """One first-seen question per class-unique object the walk showed, and one "what did you see first?"."""
    from leovl_ros.sim.templates import classes_named

    records = []
    unique = [o for o in room.scene.objects if o.id in room.first_visible
              and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    for i, obj in enumerate(unique):
        question = PATTERNS[i % len(PATTERNS)].format(cls=obj.cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-first-{obj.id}")
        truth = room.first_visible[obj.id]
        error = None if reply.first_seen is None else abs(reply.first_seen - truth) * fps
        records.append({"kind": "object", "question": question, "answer": reply.answer, "error_frames": error,
                        "right": error is not None and error <= 1.0 + 1e-6, "ms": reply.latency_ms})
    reply = answerer.ask("what did you see first?", session_id=f"{room.seed}-first-list")
    start = min(room.stamps)
    truth = {o.cls for o in room.scene.objects
             if room.first_visible.get(o.id, float("inf")) <= start + EARLIEST_WINDOW_S}
    said = set(classes_named(reply.answer))
    records.append({"kind": "list", "said": said, "truth": truth, "ms": reply.latency_ms})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    objects = [r for r in records if r["kind"] == "object"]
    errors = [r["error_frames"] for r in objects if r["error_frames"] is not None]
    lists = [r for r in records if r["kind"] == "list"]
    said = sum(len(r["said"]) for r in lists)
    true = sum(len(r["truth"]) for r in lists)
    hits = sum(len(r["said"] & r["truth"]) for r in lists)
    return {"n": len(objects), "share_within_one_frame": share(objects, "right"),
            "median_abs_error_frames": round(statistics.median(errors), 2) if errors else None,
            "answered": round(len(errors) / len(objects), 4) if objects else None,
            "list_precision": round(hits / said, 4) if said else None,
            "list_recall": round(hits / true, 4) if true else None, "answer_ms_median": median_ms(objects)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(args, lambda room, answerer: ask_room(room, answerer, args.fps))
    print(json.dumps({"benchmark": "first_seen", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
