"""'How many lamps and chairs are there?' and 'what colours are the bed and the chair?': several classes in one
question against the room's truth; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and asks, each in a dialogue of its own, one count question about two or three classes (two the walk showed
and, in half the rooms, one the room does not hold) in one of ``COUNT_PATTERNS``, and one colour question about two
class-unique objects the walk showed in one of ``COLOUR_PATTERNS``, through the dialogue node's answer path. The
answer is ``model.room_questions.measured_several``'s; the language model was never trained on either and answers
with one number or one colour.

Truth: the number of each class's objects the walk showed (zero for the absent class); each object's colour (its
accepted spellings: grey / gray).

Figures: ``count_parts_right`` (share of the classes counted right), ``count_all_right`` (every class of the
question right), ``colour_parts_right``, ``colour_all_right``, ``model_count_all_right`` / ``model_colour_all_right``
(the language model's one word right for every class: where they share a number or a colour), ``n_count``,
``n_colour``, ``answer_ms_median``.

    .venv/bin/python benchmarks/several.py [--rooms 60] [--split test]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

COUNT_PATTERNS: tuple[str, ...] = ("how many {a} and {b} are there?", "How many {a} and {b} do you see?",
                                   "how many {a} and {b} are in the room")
"""Hand-written count questions about several classes ({a}, {b}: plural class phrases, "lamps, chairs")."""
COLOUR_PATTERNS: tuple[str, ...] = ("what colour is the {a} and the {b}?", "What colors are the {a} and the {b}?",
                                    "what are the colours of the {a} and the {b}")
"""Hand-written colour questions about two objects."""

_COUNT_PART = re.compile(r"(?P<n>no|[a-z]+) (?P<cls>[a-z ]+)")
_COLOUR_PART = re.compile(r"the (?P<cls>[a-z ]+?) is (?P<colour>[a-z]+)")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def said_counts(answer: str) -> dict[str, int]:
    """Class → number from "two lamps, one chair and no sofas"."""
    from leovl_ros.sim.templates import NUMBER_WORDS, classes_named

    counts = {}
    for part in re.split(r", | and ", answer.lower()):
        found = _COUNT_PART.fullmatch(part.strip())
        named = classes_named(found["cls"]) if found else []
        if found and named:
            counts[named[0]] = 0 if found["n"] == "no" else (NUMBER_WORDS.index(found["n"])
                                                              if found["n"] in NUMBER_WORDS else -1)
    return counts


def said_colours(answer: str) -> dict[str, str]:
    """Class → colour from "the bed is gray and the chair is red"."""
    from leovl_ros.sim.templates import classes_named

    return {named[0]: m["colour"] for m in _COLOUR_PART.finditer(answer.lower())
            if (named := classes_named(m["cls"]))}


def ask_room(room: Any, answerer: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One count and one colour question about several classes; one record each."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.sim.scene import CLASSES
    from leovl_ros.sim.templates import COLOUR_WORDS, NUMBER_WORDS, plural

    shown = Counter(o.cls for o in room.scene.objects if o.id in room.last_visible)
    present = {o.cls for o in room.scene.objects}
    records = []
    seen = sorted(shown)
    if len(seen) >= 2:
        asked = [seen[int(i)] for i in rng.permutation(len(seen))[:2]]
        absent = [c for c in CLASSES if c not in present]
        if absent and rng.random() < 0.5:
            asked.append(absent[int(rng.integers(len(absent)))])
        names = [plural(c) for c in asked]
        a, b = (", ".join(names[:-1]), names[-1])
        question = COUNT_PATTERNS[int(rng.integers(len(COUNT_PATTERNS)))].format(a=a, b=b)
        reply = answerer.ask(question, session_id=f"{room.seed}-count")
        said = said_counts(reply.answer)
        parts = [said.get(c) == shown.get(c, 0) for c in asked]
        model_word = (reply.model_answer or reply.answer).strip().lower()
        records.append({"kind": "count", "question": question, "answer": reply.answer, "parts": parts,
                        "all": all(parts), "ms": reply.latency_ms,
                        "model": model_word in NUMBER_WORDS and all(shown.get(c, 0) == NUMBER_WORDS.index(model_word)
                                                                    for c in asked)})
    unique = [o for o in room.scene.objects if o.id in room.last_visible
              and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    if len(unique) >= 2:
        pair = [unique[int(i)] for i in rng.permutation(len(unique))[:2]]
        question = COLOUR_PATTERNS[int(rng.integers(len(COLOUR_PATTERNS)))].format(a=pair[0].cls, b=pair[1].cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-colour")
        said = said_colours(reply.answer)
        parts = [said.get(o.cls) in COLOUR_WORDS.get(o.colour, (o.colour,)) for o in pair]
        records.append({"kind": "colour", "question": question, "answer": reply.answer, "parts": parts,
                        "all": all(parts), "ms": reply.latency_ms,
                        "model": all(exact_match(reply.model_answer or reply.answer, [o.colour]) for o in pair)})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    figures: dict[str, Any] = {}
    for kind in ("count", "colour"):
        rows = [r for r in records if r["kind"] == kind]
        parts = [p for r in rows for p in r["parts"]]
        figures.update({f"n_{kind}": len(rows), f"{kind}_all_right": share(rows, "all"),
                        f"{kind}_parts_right": round(sum(parts) / len(parts), 4) if parts else None,
                        f"model_{kind}_all_right": share(rows, "model")})
    figures["answer_ms_median"] = median_ms(records)
    return figures


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, np.random.default_rng([room.seed, 0x5E7E])))
    print(json.dumps({"benchmark": "several", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
