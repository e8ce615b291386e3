"""'Where is the chair?' asked from no situation: the answer placed on the map against the room's truth; prints ONE
JSON line.

On the first ``--rooms`` held-out synthetic rooms it renders and fuses the robot's walk as
``benchmarks/last_seen.py`` does (same frames, same stamps) and asks, for every object the walk shows (at least
``--min-pixels`` of it in some frame) whose class is the only one of its kind in the room, "where is the <class>?"
in one of the hand-written ``PATTERNS`` (drawn per question), each in a dialogue of its own, through the dialogue
node's answer path (``agent.answering.Answerer``). The answer is ``model.room_questions.measured_location``'s ("the
lamp is on the desk", "the chair is next to the bed"; the model was never trained on this question and says a
direction or a class).

Truth, from the room's geometry: "on the <S>" is right when the object stands on an object of class S; "next to /
near the <C>" when an object of class C, not stacked on or under it, lies within the training data's next-to gap
(``TaskConfig.next_to_gap``, 0.5 m between footprints) of it, or within its ``distance_margin`` (0.3 m, what the data
takes as a tie) of the smallest gap to it.

Figures: ``right`` (share of questions whose answer places the object as above), ``on_asked_object`` (the answer's
first grounded object — the ``~/goal`` — lies on the asked object's cells), ``measured`` (share answered by the
map, not the model's words), ``absent_answers`` (answers saying the present object is absent), ``right_on_support``
/ ``right_beside`` (``right`` over the objects that stand on a support / on the floor) with their ``n_*``, ``n``,
``answer_ms_median``.

    .venv/bin/python benchmarks/location.py [--rooms 60] [--frames 48] [--model models/default]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import (  # the same rooms, cells, options and figures
    ask_held_out_rooms,
    median_ms,
    object_cells,
    room_arguments,
    share,
)

PATTERNS: tuple[str, ...] = (
    "where is {ref}?",
    "Where's {ref}?",
    "where can I find {ref}?",
    "Do you know where {ref} is?",
    "where did you see {ref}",
    "Tell me where {ref} is.",
    "where is {ref} in this room?",
    "hey robot, where is {ref}?",
    "find {ref}",
    "Can you show me {ref}?",
)
"""Hand-written wordings of the question (none is in the training data)."""

ANSWER = re.compile(r"^the (?P<asked>[a-z ]+?) is (?P<relation>on|next to|near) the (?P<other>[a-z ]+)$")
"""The measured answer's form (``model.room_questions.measured_location``)."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def true_places(scene: Any, obj: Any) -> tuple[Optional[str], set[str]]:
    """What the object stands on (its support's class, None on the floor) and the classes an answer may place it
    next to (module docstring)."""
    from leovl_ros.sim import spatial
    from leovl_ros.sim.tasks.sample import TaskConfig

    by_id = {o.id: o for o in scene.objects}
    support = by_id[obj.support].cls if obj.support is not None else None
    others = [o for o in scene.objects
              if o.id != obj.id and o.support != obj.id and obj.support != o.id and o.cls != obj.cls]
    gaps = [(spatial.gap(o, obj), o.cls) for o in others]
    config = TaskConfig()
    reach = max(config.next_to_gap, min(gaps)[0] + config.distance_margin) if gaps else 0.0
    return support, {cls for gap, cls in gaps if gap <= reach}


def is_right(answer: str, asked: str, support: Optional[str], beside: set[str]) -> bool:
    """Whether the answer places the asked object as the room does (module docstring)."""
    found = ANSWER.match(answer.strip().lower())
    if found is None or found["asked"] != asked:
        return False
    if found["relation"] == "on":
        return found["other"] == support
    return found["other"] in beside


def ask_room(room: Any, answerer: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Ask where each seen class-unique object of the room is; one record per question."""
    from leovl_ros.agent.answering import primary_object_cells
    from leovl_ros.eval.normalize import says_absent

    records = []
    objects = [o for o in room.scene.objects if o.id in room.last_visible
               and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    for i, obj in enumerate(objects):
        question = PATTERNS[int(rng.integers(len(PATTERNS)))].format(ref=f"the {obj.cls}")
        reply = answerer.ask(question, session_id=f"{room.seed}-{i}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
        batch = answerer.agent.cached_scene.batch
        support, beside = true_places(room.scene, obj)
        goal = set(primary_object_cells(batch, reply.cell_ids))
        records.append({"question": question, "answer": reply.answer, "class": obj.cls, "support": support,
                        "right": is_right(reply.answer, obj.cls, support, beside),
                        "on_asked_object": bool(goal & set(object_cells(obj, batch))),
                        "measured": bool(reply.model_answer), "absent": says_absent(reply.answer),
                        "ms": reply.latency_ms})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    on_support = [r for r in records if r["support"] is not None]
    beside = [r for r in records if r["support"] is None]
    return {"n": len(records), "right": share(records, "right"),
            "on_asked_object": share(records, "on_asked_object"), "measured": share(records, "measured"),
            "absent_answers": sum(r["absent"] for r in records),
            "right_on_support": share(on_support, "right"), "n_on_support": len(on_support),
            "right_beside": share(beside, "right"), "n_beside": len(beside),
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, np.random.default_rng([room.seed, 0x57E7])))
    print(json.dumps({"benchmark": "location", "model": str(model_dir), "rooms": args.rooms, "frames": args.frames,
                      **summarise(records)}))


if __name__ == "__main__":
    main()
