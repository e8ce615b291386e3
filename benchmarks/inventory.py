"""'What do you see?': the map's inventory against the objects the robot's walk showed; prints ONE JSON line.

On the first ``--rooms`` held-out synthetic rooms it renders and fuses the robot's walk as
``benchmarks/last_seen.py`` does and asks ``--asks`` questions per room in hand-written ``PATTERNS`` (drawn per
question, each in a dialogue of its own) through the dialogue node's answer path (``agent.answering.Answerer``).
The answer is ``model.room_questions.measured_inventory``'s ("a bed, two chairs, a lamp and a tv"); the model was never
trained on the question and names one class at most.

Truth: the classes of the objects some fused frame shows with at least ``--min-pixels`` pixels, each with the
number of such objects.

Figures (micro-averaged over the questions): ``class_precision`` (listed classes the walk showed), ``class_recall``
(classes the walk showed that are listed), ``class_f1``, ``count_right`` (listed true classes with the true number),
``whole_list_right`` (every class and number right), the same precision / recall for the language model's own words
(``model_class_precision`` / ``_recall``: the classes its answer names), ``measured``, ``n``,
``classes_per_room_median`` (the truth's), ``answer_ms_median``. One more question per room asks the total in one of
``TOTAL_PATTERNS`` ("how many things are in the room?" → "eleven things: a bed, …"): ``total_right``,
``total_within_one``, ``total_abs_error_median`` against the number of objects the walk showed, and the language
model's own number (``model_total_right``, ``model_total_within_one``). And one more asks "what did you see last?"
in one of ``LATEST_PATTERNS`` (``model.room_questions.measured_latest``): ``latest_precision`` / ``latest_recall``
of the classes listed against those of the objects the walk's last half second showed
(``latest_true_classes_median``).

    .venv/bin/python benchmarks/inventory.py [--rooms 60] [--asks 2] [--model models/default]
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

PATTERNS: tuple[str, ...] = (
    "what do you see?",
    "What have you seen so far?",
    "what's in this room?",
    "Which objects are there?",
    "list the furniture you saw",
    "what is in the room?",
    "hey robot, what can you see?",
    "What things have you found?",
)
"""Hand-written wordings of the question (none is in the training data)."""
TOTAL_PATTERNS: tuple[str, ...] = (
    "how many things are in the room?",
    "How many objects have you seen?",
    "how many items did you find?",
    "how many pieces of furniture are there?",
)
"""Hand-written wordings of the total: one per room, its answer's leading number against the objects shown."""
LATEST_PATTERNS: tuple[str, ...] = (
    "what did you see last?",
    "What have you seen most recently?",
    "what was the last thing you saw?",
    "which objects did you see just now?",
)
"""Hand-written wordings of "what did you see last?": one per room, its list against the objects the walk's last
half second showed (``model.room_questions.LATEST_WINDOW_S``)."""

ITEM = re.compile(r"^(?:a|[a-z]+) (?P<name>[a-z ]+)$")
"""One listed item: "a chair", "two chairs"."""
TOTAL_PREFIX = re.compile(r"^(?P<total>[a-z0-9-]+) things?: ")
"""The total an answer to "how many things …?" starts with ("five things: a bed, …")."""


def parse_args(argv: Optional[list[str]] = None) -> Any:
    p = room_arguments(__doc__)
    p.add_argument("--asks", type=int, default=2, help="questions per room (different wordings)")
    return p.parse_args(argv)


def listed(answer: str) -> Counter:
    """Class → number from an inventory answer ("a bed, two chairs and a lamp"); unreadable items are left out."""
    from leovl_ros.sim.scene import CLASSES
    from leovl_ros.sim.templates import NUMBER_WORDS, plural

    names = {**{c: c for c in CLASSES}, **{plural(c): c for c in CLASSES}}
    out: Counter = Counter()
    for item in re.split(r", | and ", TOTAL_PREFIX.sub("", answer.strip().lower())):
        found = ITEM.match(item)
        if found is None or found["name"] not in names:
            continue
        count = item.split(" ", 1)[0]
        out[names[found["name"]]] = 1 if count == "a" else (NUMBER_WORDS.index(count) if count in NUMBER_WORDS else 0)
    return out


def seen_classes(room: Any) -> Counter:
    """Class → number of the room's objects the walk showed."""
    return Counter(o.cls for o in room.scene.objects if o.id in room.last_visible)


def ask_room(room: Any, answerer: Any, asks: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Ask the room's inventory ``asks`` times in different wordings; one record per question."""
    from leovl_ros.sim.templates import classes_named

    truth = seen_classes(room)
    records = []
    for i, pattern in enumerate(rng.choice(len(PATTERNS), size=min(asks, len(PATTERNS)), replace=False)):
        question = PATTERNS[int(pattern)]
        reply = answerer.ask(question, session_id=f"{room.seed}-inventory-{i}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
        answer = listed(reply.answer)
        model_words = set(classes_named(reply.model_answer or reply.answer))
        records.append({"question": question, "answer": reply.answer, "truth": dict(truth), "listed": dict(answer),
                        "true_listed": len(set(answer) & set(truth)), "n_listed": len(answer), "n_true": len(truth),
                        "counts_right": sum(answer[c] == truth[c] for c in set(answer) & set(truth)),
                        "whole": answer == truth, "model_true": len(model_words & set(truth)),
                        "model_listed": len(model_words), "measured": bool(reply.model_answer),
                        "ms": reply.latency_ms})
    question = TOTAL_PATTERNS[int(rng.integers(len(TOTAL_PATTERNS)))]
    reply = answerer.ask(question, session_id=f"{room.seed}-total")
    if not reply.success:
        raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
    records.append({"question": question, "answer": reply.answer, "total": said_number(reply.answer),
                    "model_total": said_number(reply.model_answer or reply.answer), "true_total": sum(truth.values())})
    records.append(ask_latest(room, answerer, rng))
    return records


def ask_latest(room: Any, answerer: Any, rng: np.random.Generator) -> dict[str, Any]:
    """"What did you see last?" in one of ``LATEST_PATTERNS``: the classes listed against those of the objects the
    walk's last ``LATEST_WINDOW_S`` showed."""
    from leovl_ros.model.room_questions import LATEST_WINDOW_S

    question = LATEST_PATTERNS[int(rng.integers(len(LATEST_PATTERNS)))]
    reply = answerer.ask(question, session_id=f"{room.seed}-latest")
    if not reply.success:
        raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
    truth = {o.cls for o in room.scene.objects
             if room.last_visible.get(o.id, -np.inf) >= room.stamps[-1] - LATEST_WINDOW_S - 1e-6}
    said = set(listed(reply.answer))
    return {"question": question, "answer": reply.answer, "latest_truth": sorted(truth), "latest_listed": sorted(said),
            "latest_true_listed": len(said & truth), "latest_n_listed": len(said), "latest_n_true": len(truth)}


def said_number(answer: str) -> Optional[int]:
    """The number an answer starts with ("five things: …", "one"); None when it starts with none."""
    from leovl_ros.sim.templates import NUMBER_WORDS

    first = re.split(r"[\s:]", answer.strip().lower(), maxsplit=1)[0]
    return NUMBER_WORDS.index(first) if first in NUMBER_WORDS else int(first) if first.isdigit() else None


def ratio(rows: list[dict[str, Any]], num: str, den: str) -> Optional[float]:
    """Σ ``num`` / Σ ``den`` over ``rows`` (micro-averaged, 4 decimals); None where Σ ``den`` is 0."""
    total = sum(r[den] for r in rows)
    return round(sum(r[num] for r in rows) / total, 4) if total else None


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records (the inventory questions' and the totals')."""
    totals = [r for r in records if "true_total" in r]
    latest = [r for r in records if "latest_truth" in r]
    records = [r for r in records if "true_total" not in r and "latest_truth" not in r]

    precision, recall = ratio(records, "true_listed", "n_listed"), ratio(records, "true_listed", "n_true")
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else None
    return {"n": len(records), "class_precision": precision, "class_recall": recall, "class_f1": f1,
            "count_right": ratio(records, "counts_right", "true_listed"),
            "whole_list_right": round(sum(r["whole"] for r in records) / len(records), 4) if records else None,
            "model_class_precision": ratio(records, "model_true", "model_listed"),
            "model_class_recall": ratio(records, "model_true", "n_true"), "measured": share(records, "measured"),
            "classes_per_room_median": statistics.median(r["n_true"] for r in records) if records else None,
            "answer_ms_median": median_ms(records),
            **total_figures(totals), **latest_figures(latest)}


def latest_figures(latest: list[dict[str, Any]]) -> dict[str, Any]:
    """"What did you see last?": class precision and recall against the last half second's objects."""
    return {"latest_n": len(latest), "latest_precision": ratio(latest, "latest_true_listed", "latest_n_listed"),
            "latest_recall": ratio(latest, "latest_true_listed", "latest_n_true"),
            "latest_true_classes_median": statistics.median(r["latest_n_true"] for r in latest) if latest else None}


def total_figures(totals: list[dict[str, Any]]) -> dict[str, Any]:
    """"How many things …?": the share answered with the right total, within one, the median error, and the same
    for the language model's own words."""
    def share(key: str, slack: int) -> Optional[float]:
        ok = [r[key] is not None and abs(r[key] - r["true_total"]) <= slack for r in totals]
        return round(sum(ok) / len(ok), 4) if ok else None

    errors = [abs(r["total"] - r["true_total"]) for r in totals if r["total"] is not None]
    return {"total_n": len(totals), "total_right": share("total", 0), "total_within_one": share("total", 1),
            "total_abs_error_median": statistics.median(errors) if errors else None,
            "true_total_median": statistics.median(r["true_total"] for r in totals) if totals else None,
            "model_total_right": share("model_total", 0), "model_total_within_one": share("model_total", 1)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.asks, np.random.default_rng([room.seed, 0x1A7E])))
    print(json.dumps({"benchmark": "inventory", "model": str(model_dir), "rooms": args.rooms, "frames": args.frames,
                      **summarise(records)}))


if __name__ == "__main__":
    main()
