"""Questions about objects the room holds none of: does the answer say so, or invent a distance, a yes, a size?
Prints ONE JSON line.

On the first ``--rooms`` held-out synthetic rooms (rendered, stamped and fused as ``last_seen.py`` does), each of the
hand-written patterns of ``--patterns`` (default ``benchmarks/data/handworded_absent.json``, written before any
answer was looked at: distances, yes/no relations, sizes, heights, colours, places, routes, times, counts) is asked
twice through ``agent.answering.Answerer``, the dialogue node's answer path, each question in a dialogue of its own:
once about a class the room holds none of (drawn per room and pattern from the classes the scene lacks) and once
about a class the robot's walk shows, beside another class the walk shows.

Figures, overall and per kind: ``says_absent`` — of the questions about an absent class, the share whose answer says
there is none ("there is no sofa", "I have not seen a sofa", and for a count or an existence question "zero" /
"no"); ``false_absent`` — of the questions about a present class, the share whose answer says that class is absent
(the price: the presence head misjudging a present class); ``n`` per side. Compare code before and after on the same
machine: the figures depend only on the map and the answer path.

    .venv/bin/python benchmarks/absent_objects.py [--rooms 60] [--split test|val]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import Room, ask_held_out_rooms, room_arguments, share  # the same rooms, options and figures

PATTERNS = Path(__file__).resolve().parent / "data" / "handworded_absent.json"
"""The hand-written patterns (``benchmarks/data/README.md``)."""

ABSENT_WORDS = {"counting": "zero", "existence": "no"}
"""The kinds whose trained absent answer is a word of their own, not "there is no …"."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--patterns", type=Path, default=PATTERNS, help="JSON file of [kind, pattern] pairs")
    return p.parse_args(argv)


def says_none(answer: str, kind: str) -> bool:
    """Whether an answer says the asked class is not in the room, in the words of the question's kind."""
    from leovl_ros.eval.normalize import clean_answer, says_no_such_object

    return says_no_such_object(answer) or clean_answer(answer) == ABSENT_WORDS.get(kind)


def fill(pattern: str, asked: str, other: str) -> str:
    """The pattern about class ``asked`` beside class ``other``."""
    from leovl_ros.sim.templates import plural

    return pattern.format(a=asked, a_pl=plural(asked), p=other)


def ask_room(room: Room, answerer: Any, patterns: Sequence[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """Each pattern about an absent and about a present class of the room; one record per question."""
    from leovl_ros.sim.scene import CLASSES

    rng = np.random.default_rng([room.seed, 0xAB5E])
    seen = sorted({o.cls for o in room.scene.objects if o.id in room.last_visible})
    absent = sorted(set(CLASSES) - {o.cls for o in room.scene.objects})
    if len(seen) < 2 or not absent:
        return
    for i, (kind, pattern) in enumerate(patterns):
        other, present = rng.choice(seen, 2, replace=False)
        for is_absent, asked in ((True, str(rng.choice(absent))), (False, str(present))):
            question = fill(pattern, asked, str(other))
            reply = answerer.ask(question, session_id=f"{room.seed}-{i}-{int(is_absent)}")
            answer = reply.answer if reply.success else ""
            yield {"kind": kind, "absent": is_absent, "question": question, "answer": answer,
                   "says_none": reply.success and says_none(answer, kind)}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall and per-kind shares."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_kind[r["kind"]].append(r)

    def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
        absent = [r for r in rows if r["absent"]]
        present = [r for r in rows if not r["absent"]]
        return {"n": len(absent), "says_absent": share(absent, "says_none"),
                "false_absent": share(present, "says_none")}

    return {**figures(records), "by_kind": {k: figures(v) for k, v in sorted(by_kind.items())}}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, score; print one JSON line."""
    args = parse_args(argv)
    patterns = [tuple(p) for p in json.loads(args.patterns.read_text())["patterns"]]
    model_dir, records = ask_held_out_rooms(args, lambda room, answerer: list(ask_room(room, answerer, patterns)))
    print(json.dumps({"benchmark": "absent_objects", "model": str(model_dir), "rooms": args.rooms,
                      "split": args.split, **summarise(records)}))


if __name__ == "__main__":
    main()
