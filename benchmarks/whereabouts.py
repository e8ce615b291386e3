"""'Where are you?': the robot's place among the map's objects against the room's geometry; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does (the map keeps the newest fused camera pose) and asks "where are you?" through the dialogue node's answer path
(``model.room_questions.measured_whereabouts``). The truth comes from the room's objects the walk showed, those
standing on the floor (no support; classes with a floor size), and the camera's pose at the last frame:

- ``place_right``: "in a corner of the room" / "in the middle of the room" / "against the wall" by the same
  thresholds (0.9 m from two walls, 1.2 m from every wall) on the room's true walls;
- ``nearest_right``: the answer's "next to / near the X" names the class of the object whose footprint is nearest
  the camera, where one lies within three times ``NEXT_TO_M`` (1.8 m), and names none where none does;
  ``next_to_right``: also "next to" against "near" right (footprint gap ≤ 0.6 m);
- ``facing_right``: "facing the X" ("facing it": the nearest one) names the class of the nearest object whose
  footprint centre lies within ``FACING_DEG`` (30°) of the camera's optical axis on the floor, and none where none
  does;
- ``all_right`` (all three), ``n``, ``answer_ms_median``.

    .venv/bin/python benchmarks/whereabouts.py [--rooms 60] [--split test]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

_ANSWER = re.compile(r"^I am (?P<place>in a corner of the room|in the middle of the room|against the wall)"
                     r"(?:, (?P<near>next to|near) the (?P<nearest>[a-z ]+?))?"
                     r"(?:, facing (?:the (?P<faced>[a-z ]+)|(?P<it>it)))?(?:;.*)?$")
"""The measured answer's form (``measured_whereabouts``)."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def truth(room: Any, pose: np.ndarray) -> dict[str, Any]:
    """Place, nearest floor object (class, gap) and faced floor object (class) of a camera pose in the true room."""
    import torch

    from leovl_ros.model.measure import NEXT_TO_M
    from leovl_ros.model.room_questions import FACING_DEG, place_in_room
    from leovl_ros.sim import spatial
    from leovl_ros.sim.furnish import CLASS_SPECS

    here = pose[:2, 3]
    walls = torch.tensor([[0.0, 0.0], [float(v) for v in room.scene.room.size]])  # the true walls, not the map's
    place = place_in_room(walls, torch.as_tensor(here))
    floor = [o for o in room.scene.objects if o.id in room.last_visible and o.support is None
             and CLASS_SPECS[o.cls].size is not None]
    gaps = [(spatial.point_gap(here, o), o.cls) for o in floor]
    gap, nearest = min(gaps, default=(math.inf, None))
    forward = pose[:2, 2]
    faced = None
    if np.linalg.norm(forward) > 0.1:
        ahead = []
        for o in floor:
            offset = np.asarray(o.center[:2], dtype=float) - here
            if np.linalg.norm(offset) > 0.1 and offset @ forward > math.cos(math.radians(FACING_DEG)) * \
                    np.linalg.norm(offset) * np.linalg.norm(forward):
                ahead.append((float(np.linalg.norm(offset)), o.cls))
        faced = min(ahead)[1] if ahead else None
    near = gap <= 3 * NEXT_TO_M
    return {"place": place, "nearest": nearest if near else None,
            "next_to": None if not near else gap <= NEXT_TO_M, "faced": faced}


def ask_room(room: Any, answerer: Any) -> list[dict[str, Any]]:
    """Ask "where are you?" once; one record against the truth."""
    reply = answerer.ask("where are you?", session_id=f"{room.seed}-where")
    if not reply.success:
        raise RuntimeError(f"room {room.seed}: rejected: {reply.error}")
    m = _ANSWER.match(reply.answer)
    if m is None:
        raise RuntimeError(f"room {room.seed}: an answer outside the measured form: {reply.answer!r}")
    said_nearest = m["nearest"]
    said_faced = said_nearest if m["it"] else m["faced"]
    want = truth(room, room.store.camera_pose)
    nearest_right = said_nearest == want["nearest"]
    record = {"seed": room.seed, "answer": reply.answer, "truth": want, "ms": reply.latency_ms,
              "place_right": m["place"] == want["place"], "nearest_right": nearest_right,
              "next_to_right": nearest_right and (m["near"] == "next to") == bool(want["next_to"]),
              "facing_right": said_faced == want["faced"]}
    record["all_right"] = record["place_right"] and nearest_right and record["facing_right"]
    return [record]


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(args, ask_room)
    keys = ("place_right", "nearest_right", "next_to_right", "facing_right", "all_right")
    print(json.dumps({"benchmark": "whereabouts", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, "n": len(records), **{k: share(records, k) for k in keys},
                      "answer_ms_median": median_ms(records)}))


if __name__ == "__main__":
    main()
