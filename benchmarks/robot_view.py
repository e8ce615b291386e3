"""'Is the bed on your left?', 'how far is the bed?' and 'take me to the chair' with no situation: answered at the
robot's own pose against the room's geometry; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does (the map keeps the newest fused camera pose) and asks, for up to ``--questions`` class-unique objects the walk
shows, each in a dialogue of its own and with no situation, one side question in one of ``SIDE_PATTERNS``, one
distance question in one of ``DISTANCE_PATTERNS``, one route request in one of ``ROUTE_PATTERNS`` and, where another
class-unique object (drawn apart) lies over ``SIDE_OF_MARGIN_DEG`` to one side of it, which side of that one it is
on in one of ``SIDE_OF_PATTERNS`` and, where one object is clearly the nearest on a side drawn for it
(:func:`beside_truth`), what is on that side of it in one of ``BESIDE_PATTERNS``, through the
dialogue node's answer path (``agent.robot_view``: the camera's pose as the situation, "your left" asked as "my
left"). The same questions are asked again with
``AnswererConfig.robot_viewpoint`` off (what the model answered before: no viewpoint at all).

Truth, at the camera's pose of the last frame (its optical axis on the floor as the heading): the side of the
object's centre (``sim.spatial.side``, 20° margin; objects within it of straight ahead or behind are not asked), the
route's first step (``model.measure.first_step`` of the centre's bearing; objects within 10° of a step's border are
not asked) and its walk (the footprint gap less ``ROUTE_EDGE_M``, right within 0.5 m); the distance from the
camera to the object's centre (right within 0.5 m: answers are in half meters).

Figures: ``side_right`` / ``side_right_without`` (the answer names the true side), ``side_of_right`` /
``side_of_right_without`` (the true side of the other object, or yes / no), ``beside_right`` /
``beside_right_without`` (the class of the object beside it on that side), ``distance_right`` /
``distance_right_without``, ``route_step_right`` /
``route_right`` (first step; first step and walk) and ``route_right_without``, ``n_side``, ``n_distance``, ``n_route``,
``n_side_of``, ``n_beside``, ``answer_ms_median``.

    .venv/bin/python benchmarks/robot_view.py [--rooms 60] [--questions 3] [--split test]
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

SIDE_PATTERNS: tuple[str, ...] = ("is the {cls} on your left or right?", "Is the {cls} to your left or to your right?",
                                  "is the {cls} on your left or on your right",
                                  "tell me if the {cls} is to the left of you or to the right of you")
"""Hand-written side questions addressed to the robot (none is in the training data: it says "my left")."""
ROUTE_PATTERNS: tuple[str, ...] = ("take me to the {cls}", "go to the {cls}", "How do I get to the {cls}?",
                                   "guide me to the {cls} please")
"""Hand-written route requests with no situation."""
SIDE_OF_PATTERNS: tuple[str, ...] = ("is the {cls} left or right of the {ref}?",
                                     "Is the {cls} to the left or to the right of the {ref}?",
                                     "is the {cls} on the left or right side of the {ref}",
                                     "is the {cls} to the right of the {ref}?")
"""Hand-written questions for one object's side of another with no viewpoint (the training data names a place: "seen
from the door, …"); the last one answered yes or no."""
BESIDE_PATTERNS: tuple[str, ...] = ("what is to the {side} of the {cls}?", "What's on the {side} side of the {cls}?",
                                    "which object is {side} of the {cls}?")
"""Hand-written questions for the thing beside an object on one side, with no viewpoint."""
BESIDE_CLEAR_M = 0.3
""""What is to the left of X?" is asked only where the nearest object on that side (within ``SIDE_NEIGHBOUR_M`` of X,
15° or more to that side as the camera sees them) is nearer X than the next by this (m)."""
SIDE_OF_MARGIN_DEG = 20.0
"""Pairs whose bearings from the camera differ by less than this are not asked."""
DISTANCE_PATTERNS: tuple[str, ...] = ("how far is the {cls}?", "How far away is the {cls}?",
                                      "how far is the {cls} from you?", "how far is the {cls} from here")
"""Hand-written distance questions with no situation."""
FROM_HERE = "from where I am: "
"""How an answer to a question that named no viewpoint says it was answered from the robot's."""
_METERS = re.compile(r"(?P<d>\d+(?:\.\d+)?) meters")

_ROUTE = re.compile(r"(?P<step>go straight|turn left|turn right|turn around) and walk (?P<walk>\d+(?:\.\d+)?) meters")
STEP_BORDER_DEG = 10.0
"""Objects this close to a first step's border (30° and 150° either side) are not asked: the map's centre of an
object and the truth's differ by a few degrees."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=3, help="objects asked about per room (a side and a route each)")
    return p.parse_args(argv)


def heading_pose(camera_pose: np.ndarray) -> tuple[np.ndarray, float]:
    """(position xy, yaw) of the camera: its optical axis on the floor plane."""
    forward = camera_pose[:3, 2]
    return camera_pose[:2, 3], math.atan2(float(forward[1]), float(forward[0]))


def beside_truth(room: Any, obj: Any, here: np.ndarray, yaw: float, side: str) -> Optional[tuple[str, str]]:
    """(side, class) of the object nearest ``obj`` on that side as seen from ``here`` / ``yaw``: other objects the
    walk shows, not standing on it or under it, within ``SIDE_NEIGHBOUR_M`` (footprint gap), at least 5° to that
    side (15° for the answer); None where there is none or the nearest is not clearly nearer than the next
    (``BESIDE_CLEAR_M``)."""
    from leovl_ros.model.room_questions import SIDE_NEIGHBOUR_M, SIDE_NEIGHBOUR_MIN_DEG
    from leovl_ros.sim import spatial

    sign = 1.0 if side == "left" else -1.0
    centre = spatial.bearing(here, yaw, obj.center)
    found = []
    for other in room.scene.objects:
        gap = spatial.gap(other, obj)
        off = math.degrees(math.remainder(spatial.bearing(here, yaw, other.center) - centre, 2 * math.pi))
        stacked = other.support == obj.id or obj.support == other.id
        if other.id in room.last_visible and other is not obj and not stacked and gap <= SIDE_NEIGHBOUR_M \
                and sign * off >= SIDE_NEIGHBOUR_MIN_DEG:
            found.append((gap, sign * off, other.cls))
    found.sort()
    if not found or found[0][1] < 15.0 or (len(found) > 1 and found[1][0] - found[0][0] < BESIDE_CLEAR_M):
        return None
    return side, found[0][2]


def ask_room(room: Any, answerer: Any, limit: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """A side question and a route request about up to ``limit`` class-unique objects, with and without the robot's
    viewpoint; one record each."""
    from dataclasses import replace

    from leovl_ros.model.measure import ROUTE_EDGE_M, ROUTE_STRAIGHT_DEG, distance_text, first_step
    from leovl_ros.sim import spatial

    here, yaw = heading_pose(np.asarray(room.store.camera_pose))
    unique = [o for o in room.scene.objects if o.id in room.last_visible
              and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    records = []
    for i in rng.permutation(len(unique))[:limit]:
        obj = unique[int(i)]
        angle = math.degrees(spatial.bearing(here, yaw, obj.center))
        side = spatial.side(here, yaw, obj.center)
        off_border = min(abs(abs(angle) - ROUTE_STRAIGHT_DEG), abs(abs(angle) - (180.0 - ROUTE_STRAIGHT_DEG)))
        asked = []
        if side is not None:
            asked.append(("side", SIDE_PATTERNS[int(rng.integers(len(SIDE_PATTERNS)))], side))
        asked.append(("distance", DISTANCE_PATTERNS[int(rng.integers(len(DISTANCE_PATTERNS)))],
                      float(np.linalg.norm(np.asarray(obj.center[:2]) - here))))
        if off_border > STEP_BORDER_DEG:
            walk = max(spatial.point_gap(here, obj) - ROUTE_EDGE_M, 0.0)
            asked.append(("route", ROUTE_PATTERNS[int(rng.integers(len(ROUTE_PATTERNS)))], (first_step(angle), walk)))
        pick = np.random.default_rng([room.seed, 0x51DE, obj.id])  # its own draws: the others' stay as they were
        ref = unique[int(pick.integers(len(unique)))]
        apart = math.degrees(math.remainder(spatial.bearing(here, yaw, obj.center)
                                            - spatial.bearing(here, yaw, ref.center), 2 * math.pi))
        if ref is not obj and abs(apart) > SIDE_OF_MARGIN_DEG:
            pattern = SIDE_OF_PATTERNS[int(pick.integers(len(SIDE_OF_PATTERNS)))]
            of = "left" if apart > 0 else "right"
            asked.append(("side_of", pattern, of if "left or" in pattern else ("yes" if of == "right" else "no")))
        beside = beside_truth(room, obj, here, yaw, "left" if pick.integers(2) else "right")
        if beside is not None:
            pattern = BESIDE_PATTERNS[int(pick.integers(len(BESIDE_PATTERNS)))]
            asked.append(("beside", pattern.replace("{side}", beside[0]), beside[1]))
        for kind, pattern, truth in asked:
            question = pattern.format(cls=obj.cls, ref=ref.cls)
            replies = {}
            for view in (True, False):
                answerer.config = replace(answerer.config, robot_viewpoint=view)
                reply = answerer.ask(question, session_id=f"{room.seed}-{kind}-{obj.id}-{view}")
                if not reply.success:
                    raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
                replies[view] = reply
            record = {"kind": kind, "question": question, "answer": replies[True].answer,
                      "without": replies[False].answer, "ms": replies[True].latency_ms}
            if kind in ("side", "side_of", "beside"):
                said = [replies[v].answer.removeprefix(FROM_HERE) for v in (True, False)]
                record.update(truth=truth, right=said[0] == truth, right_without=said[1] == truth)
            elif kind == "distance":
                said = [_METERS.search(replies[v].answer) for v in (True, False)]
                record.update(truth=truth, **{key: m is not None and abs(float(m["d"]) - truth) <= 0.5
                                              for key, m in zip(("right", "right_without"), said)})
            else:
                step, walk = truth
                said = [_ROUTE.search(replies[v].answer) for v in (True, False)]
                record.update(truth=f"{step} and walk {distance_text(walk)}",
                              step_right=said[0] is not None and said[0]["step"] == step,
                              right=said[0] is not None and said[0]["step"] == step
                              and abs(float(said[0]["walk"]) - walk) <= 0.5,
                              right_without=said[1] is not None and said[1]["step"] == step
                              and abs(float(said[1]["walk"]) - walk) <= 0.5)
            records.append(record)
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    sides = [r for r in records if r["kind"] == "side"]
    sides_of = [r for r in records if r["kind"] == "side_of"]
    besides = [r for r in records if r["kind"] == "beside"]
    routes = [r for r in records if r["kind"] == "route"]
    distances = [r for r in records if r["kind"] == "distance"]
    return {"n_side": len(sides), "side_right": share(sides, "right"),
            "side_right_without": share(sides, "right_without"),
            "n_side_of": len(sides_of), "side_of_right": share(sides_of, "right"),
            "side_of_right_without": share(sides_of, "right_without"),
            "n_beside": len(besides), "beside_right": share(besides, "right"),
            "beside_right_without": share(besides, "right_without"),
            "n_distance": len(distances), "distance_right": share(distances, "right"),
            "distance_right_without": share(distances, "right_without"),
            "n_route": len(routes), "route_step_right": share(routes, "step_right"),
            "route_right": share(routes, "right"), "route_right_without": share(routes, "right_without"),
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.questions,
                                              np.random.default_rng([room.seed, 0x50B07])))
    print(json.dumps({"benchmark": "robot_view", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
