"""'Is the TV on the desk?': whether an object stands on another (or on the floor), against the room's truth; prints
ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and asks, about up to ``--questions`` objects per room that the walk shows and that are the only one of their
class in the room, one question in one of the hand-written ``PATTERNS``: on its true support (a support the walk
shows; "yes"), on another support class the walk shows ("no"), on the floor (for a class that stands on the floor or
on others: lamps, plants, boxes) or on one of two (its support and another: the support's class is the answer). Each
question in a dialogue of its own, through the dialogue node's answer path; the answer is
``model.room_questions.measured_on_support``'s (the language model was never trained on these questions; its own
words are kept beside it).

Figures: ``right`` (the answer is the truth), ``model_right`` (the language model's words), both by form
(``right_yes`` / ``right_no`` / ``right_floor`` / ``right_choice``), ``n``, ``answer_ms_median``.

    .venv/bin/python benchmarks/on_support.py [--rooms 60] [--questions 4] [--split test]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

PATTERNS: tuple[str, ...] = ("is the {cls} on the {on}?", "Is the {cls} standing on the {on}?",
                             "does the {cls} sit on the {on}?", "is there a {cls} on the {on}?",
                             "Is the {cls} lying on top of the {on}")
"""Hand-written wordings (none is in the training data); ``{on}`` is a support class, "floor" or "A or the B"."""
FORMS = ("yes", "no", "floor", "choice")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=4, help="objects asked about per room")
    return p.parse_args(argv)


def questions(room: Any, rng: np.random.Generator, limit: int) -> list[tuple[str, str, str]]:
    """Up to ``limit`` (form, question, truth) about class-unique objects the walk showed (module docstring)."""
    from leovl_ros.sim.furnish import CLASS_SPECS

    objects = {o.id: o for o in room.scene.objects}
    seen = [o for o in room.scene.objects if o.id in room.last_visible]
    seen_supports = sorted({o.cls for o in seen if any(p.support == o.id for p in room.scene.objects)}
                           | {o.cls for o in seen if o.cls in {c for s in CLASS_SPECS.values() for c in s.supports}})
    unique = [o for o in seen if CLASS_SPECS[o.cls].on_size is not None
              and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    found = []
    for o in unique:
        support = objects[o.support] if o.support is not None else None
        others = [c for c in seen_supports if support is None or c != support.cls]
        forms = []
        if support is not None and support.id in room.last_visible:
            forms.append(("yes", support.cls, "yes"))
            if others:
                other = others[int(rng.integers(len(others)))]
                pair = (support.cls, other) if rng.random() < 0.5 else (other, support.cls)
                forms.append(("choice", f"{pair[0]} or the {pair[1]}", support.cls))
        if others:
            forms.append(("no", others[int(rng.integers(len(others)))], "no"))
        if CLASS_SPECS[o.cls].size is not None:
            forms.append(("floor", "floor", "yes" if support is None else "no"))
        if forms:
            form, on, truth = forms[int(rng.integers(len(forms)))]
            pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
            found.append((form, pattern.format(cls=o.cls, on=on), truth))
    order = rng.permutation(len(found))[:limit]
    return [found[i] for i in order]


def ask_room(room: Any, answerer: Any, limit: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One question per chosen object; one record each."""
    from leovl_ros.eval.metrics import exact_match

    records = []
    for i, (form, question, truth) in enumerate(questions(room, rng, limit)):
        reply = answerer.ask(question, session_id=f"{room.seed}-on-{i}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
        records.append({"form": form, "question": question, "truth": truth, "answer": reply.answer,
                        "right": exact_match(reply.answer, [truth]),
                        "model_right": exact_match(reply.model_answer or reply.answer, [truth]),
                        "ms": reply.latency_ms})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    by_form = {form: [r for r in records if r["form"] == form] for form in FORMS}
    return {"n": len(records), "right": share(records, "right"), "model_right": share(records, "model_right"),
            **{f"right_{form}": share(group, "right") for form, group in by_form.items()},
            **{f"model_right_{form}": share(group, "model_right") for form, group in by_form.items()},
            **{f"n_{form}": len(group) for form, group in by_form.items()},
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.questions,
                                              np.random.default_rng([room.seed, 0x0571])))
    print(json.dumps({"benchmark": "on_support", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
