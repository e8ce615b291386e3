"""'Which is closer to the bed, the desk or the stool?': distance comparisons against the room's geometry; prints ONE
JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and asks, for up to ``--questions`` triples of objects the walk shows whose classes the room holds once (a
reference and two candidates whose footprint gaps to it differ by more than the training data's tie margin,
``TaskConfig.distance_margin``, 0.3 m, neither stacked on the reference), one comparison in one of the hand-written
``PATTERNS`` (closer or farther, a choice or a yes/no with "than", two objects' gaps to a reference or one object's
gaps to two others), each in a dialogue of its own, through the
dialogue node's answer path. The answer is ``model.room_questions.measured_closer``'s; the language model was never
trained on the question and its own words are kept beside it.

Figures: ``right`` (the answer is the candidate, or the yes / no, the footprint gaps make right), the same for the
language model's words (``model_right``), ``right_choice`` / ``right_yes_no`` by form, ``right_subject_reference``
over the wordings whose subject is the reference ("is the bed closer to the desk or the stool?"), ``changed`` (the
map's answer replaced another one of the model's), ``n``, ``answer_ms_median`` (these comparisons); ``which_right``
over ``n_which`` "which lamp is closer to the bed?" questions (:func:`which_one_records`: the answer grounded on the
right one of the room's lamps; the model's words name no one lamp).

    .venv/bin/python benchmarks/closer.py [--rooms 60] [--questions 4] [--split test]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

PATTERNS: tuple[tuple[str, bool, bool, bool], ...] = (
    ("which is closer to the {ref}, the {a} or the {b}?", True, False, False),
    ("Which one is nearer to the {ref}: the {a} or the {b}?", True, False, False),
    ("which is farther from the {ref}, the {a} or the {b}?", False, False, False),
    ("what's further away from the {ref}, the {a} or the {b}?", False, False, False),
    ("is the {a} closer to the {ref} than the {b}?", True, True, False),
    ("Is the {a} farther from the {ref} than the {b}?", False, True, False),
    ("is the {ref} closer to the {a} or the {b}?", True, False, True),
    ("Is the {ref} farther from the {a} or from the {b}?", False, False, True),
    ("is the {ref} nearer to the {a} than to the {b}?", True, True, True),
)
"""Hand-written wordings (none is in the training data): the text, whether it asks closer, whether it is yes/no,
whether the reference is its subject (one object's gaps to two others) rather than the class after "to"."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=4, help="comparisons asked per room")
    return p.parse_args(argv)


def triples(room: Any, rng: np.random.Generator, limit: int) -> list[tuple[Any, Any, Any]]:
    """Up to ``limit`` (reference, candidate, candidate) of class-unique objects the walk showed, with clearly
    different footprint gaps to the reference, neither stacked on it."""
    from leovl_ros.sim import spatial
    from leovl_ros.sim.tasks.sample import TaskConfig

    margin = TaskConfig().distance_margin
    unique = [o for o in room.scene.objects if o.id in room.last_visible
              and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    found = []
    for ref, a, b in itertools.permutations(unique, 3):
        if a.id < b.id and ref.id not in (a.support, b.support) and ref.support not in (a.id, b.id) \
                and abs(spatial.gap(a, ref) - spatial.gap(b, ref)) > margin:
            found.append((ref, a, b))
    order = rng.permutation(len(found))[:limit]
    return [found[i] for i in order]


def ask_room(room: Any, answerer: Any, limit: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One comparison per triple; one record each."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.sim import spatial

    records = []
    for i, (ref, a, b) in enumerate(triples(room, rng, limit)):
        text, closer, yes_no, subject = PATTERNS[int(rng.integers(len(PATTERNS)))]
        a_wins = (spatial.gap(a, ref) < spatial.gap(b, ref)) == closer
        truth = ("yes" if a_wins else "no") if yes_no else (a.cls if a_wins else b.cls)
        question = text.format(ref=ref.cls, a=a.cls, b=b.cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-closer-{i}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
        records.append({"question": question, "truth": truth, "answer": reply.answer, "yes_no": yes_no,
                        "subject": subject,
                        "right": exact_match(reply.answer, [truth]),
                        "model_right": exact_match(reply.model_answer or reply.answer, [truth]),
                        "changed": bool(reply.model_answer), "ms": reply.latency_ms})
    return records


WHICH_PATTERNS: tuple[tuple[str, bool], ...] = (("which {cls} is closer to the {ref}?", True),
                                               ("Which {cls} is nearest to the {ref}?", True),
                                               ("which {cls} is farther from the {ref}?", False))
"""Hand-written "which one" wordings: the text, whether it asks the nearer one."""
WHICH_CLEAR_M = 0.5
""""Which lamp is closer to the bed?" is asked only where the right lamp's footprint gap to the bed is this much
smaller (larger) than every other lamp's."""


def which_one_records(room: Any, answerer: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    """At most one "which lamp is closer to the bed?" per class the walk shows two or more of, about a class-unique
    reference where one of them is clearly the answer (``WHICH_CLEAR_M``); right when the answer is grounded on it
    (its first cell on the object's cells, ``last_seen.object_cells``)."""
    from last_seen import object_cells

    from leovl_ros.sim import spatial

    seen = [o for o in room.scene.objects if o.id in room.last_visible]
    unique = [o for o in seen if sum(p.cls == o.cls for p in room.scene.objects) == 1]
    records = []
    for cls in sorted({o.cls for o in seen}):
        group = [o for o in room.scene.objects if o.cls == cls]
        if len(group) < 2 or not all(o.id in room.last_visible for o in group) or not unique:
            continue
        ref = unique[int(rng.integers(len(unique)))]
        text, closer = WHICH_PATTERNS[int(rng.integers(len(WHICH_PATTERNS)))]
        gaps = sorted(((spatial.gap(o, ref), o) for o in group), key=lambda g: g[0], reverse=not closer)
        if abs(gaps[0][0] - gaps[1][0]) < WHICH_CLEAR_M or any(ref.id in (o.id, o.support) for o in group):
            continue
        question = text.format(cls=cls, ref=ref.cls)
        reply = answerer.ask(question, session_id=f"{room.seed}-which-{cls.replace(' ', '-')}")
        cells = object_cells(gaps[0][1], answerer.agent.cached_scene.batch)
        records.append({"kind": "which", "question": question, "answer": reply.answer or reply.error,
                        "ms": reply.latency_ms,
                        "right": bool(reply.cell_ids) and reply.cell_ids[0] in cells})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    which = [r for r in records if r.get("kind") == "which"]
    records = [r for r in records if r.get("kind") != "which"]
    choice = [r for r in records if not r["yes_no"]]
    yes_no = [r for r in records if r["yes_no"]]
    return {"n": len(records), "right": share(records, "right"), "model_right": share(records, "model_right"),
            "right_choice": share(choice, "right"), "n_choice": len(choice),
            "right_yes_no": share(yes_no, "right"), "n_yes_no": len(yes_no),
            "model_right_choice": share(choice, "model_right"), "model_right_yes_no": share(yes_no, "model_right"),
            "right_subject_reference": share([r for r in records if r["subject"]], "right"),
            "n_subject_reference": sum(r["subject"] for r in records),
            "changed": share(records, "changed"),
            "which_right": share(which, "right"), "n_which": len(which),
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.questions,
                                              np.random.default_rng([room.seed, 0xC105]))
        + which_one_records(room, answerer, np.random.default_rng([room.seed, 0x3417])))
    print(json.dumps({"benchmark": "closer", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
