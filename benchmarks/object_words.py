"""Questions naming an object in words no training question uses ("where is the armchair?") or with a typing slip
("where is the armchiar?"), with and without the rewrites that put them in the model's words; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and draws the room's questions with the training data's generator (its rng, up to ``--per-type`` per type,
objects the walk shows; single-turn questions asked from no situation). Each question is asked as generated, then
in up to two changed forms, each through the dialogue node's answer path in a dialogue of its own, with its rewrite
on and off:

- ``other_words``: where it names a class with words in ``agent/object_words.py`` (``OBJECT_WORDS``), one class
  phrasing replaced by one of them (drawn per question, its number kept: "how many couches" → "how many
  loveseats"); off = ``AnswererConfig.object_words = False`` (a question then refused, as "waste basket" for its
  "basket", counts as a miss);
- ``compound``: one class phrasing of a class in :data:`CLASS_MODIFIERS` given another class as its modifier, as
  people name things ("the lamp" → "the desk lamp", "the pillows" → "the couch pillows"; drawn per question); off =
  ``AnswererConfig.object_words = False``, the question read whole as before 2026-12-07 evening;
- ``slip``: one word of a class phrasing of four letters or more given one typing slip (drawn: two neighbouring
  letters swapped, one left out, one doubled, or one changed to a neighbour on a QWERTY keyboard; a slip that
  spells another word the model or English knows is drawn again); off = ``AnswererConfig.correct_spelling =
  False``.

Figures per form: ``n``, ``em`` (exact match against the generator's answers, the rewrite on), ``em_off`` (off),
``em_generated`` (the same questions as generated), ``rewritten`` (share the rewrite changed); ``other_words`` also
``by_class``; ``answer_ms_median``.

    .venv/bin/python benchmarks/object_words.py [--rooms 60] [--per-type 2] [--split test]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--per-type", type=int, default=2, help="generated questions per question type and room")
    return p.parse_args(argv)


def in_other_words(question: str, rng: np.random.Generator) -> Optional[tuple[str, str]]:
    """``question`` with one class phrasing (drawn) replaced by another word for the class (drawn; plural where the
    phrasing was), and that class; None when it names no class with other words."""
    from leovl_ros.agent.object_words import OBJECT_WORDS
    from leovl_ros.sim.templates import SYNONYMS, class_spans, plural

    spans = [(s, e, cls) for s, e, cls in class_spans(question) if cls in OBJECT_WORDS]
    if not spans:
        return None
    start, end, cls = spans[int(rng.integers(len(spans)))]
    said = question[start:end].lower()
    word = OBJECT_WORDS[cls][int(rng.integers(len(OBJECT_WORDS[cls])))]
    if said in {plural(p) for p in SYNONYMS[cls]} - set(SYNONYMS[cls]):
        word = plural(word)
    return question[:start] + word + question[end:], cls


CLASS_MODIFIERS: dict[str, tuple[str, ...]] = {
    "lamp": ("desk", "table", "bedside table"), "pillow": ("bed", "sofa", "couch", "chair"),
    "plant": ("desk", "table"), "monitor": ("desk",), "cabinet": ("tv",), "trash can": ("desk",),
}
"""Class → other classes people put before it to say which kind they mean ("the desk lamp", "the TV cabinet"),
written by hand before the rule that reads them (``object_words.without_class_modifiers``) was tried."""


def with_a_class_modifier(question: str, rng: np.random.Generator) -> Optional[tuple[str, str]]:
    """``question`` with one class phrasing (drawn) of a class in :data:`CLASS_MODIFIERS` given one of its modifiers
    (drawn), and the compound; None when it names no such class."""
    from leovl_ros.sim.templates import class_spans

    spans = [(s, e, cls) for s, e, cls in class_spans(question) if cls in CLASS_MODIFIERS]
    if not spans:
        return None
    start, end, cls = spans[int(rng.integers(len(spans)))]
    modifier = CLASS_MODIFIERS[cls][int(rng.integers(len(CLASS_MODIFIERS[cls])))]
    return question[:start] + modifier + " " + question[start:], f"{modifier} {question[start:end].lower()}"


KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
"""QWERTY rows: a changed letter is a neighbour in its row."""


def with_a_slip(question: str, rng: np.random.Generator, known: frozenset[str]) -> Optional[tuple[str, str, str]]:
    """``question`` with one typing slip in one word (drawn) of its class phrasings of four letters or more, and
    that word and the slip; None when it has no such word or ten draws only spell known words."""

    from leovl_ros.sim.templates import class_spans

    words = [(s + m.start(), s + m.end()) for s, e, _ in class_spans(question)
             for m in re.finditer(r"[a-z]{4,}", question[s:e].lower())]
    if not words:
        return None
    start, end = words[int(rng.integers(len(words)))]
    word = question[start:end].lower()
    for _ in range(10):
        i = int(rng.integers(1, len(word) - 1))  # keep the first letter, as most slips do
        kind = int(rng.integers(4))
        if kind == 0:
            slip = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif kind == 1:
            slip = word[:i] + word[i + 1:]
        elif kind == 2:
            slip = word[:i] + word[i] + word[i:]
        else:
            row = next((r for r in KEYBOARD_ROWS if word[i] in r), None)
            if row is None:
                continue
            j = row.index(word[i])
            near = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
            slip = word[:i] + near[int(rng.integers(len(near)))] + word[i + 1:]
        if slip != word and slip not in known:
            return question[:start] + slip + question[end:], word, slip
    return None


def ask_room(room: Any, answerer: Any, per_type: int, rng: np.random.Generator, known: frozenset[str]
             ) -> list[dict[str, Any]]:
    """The room's generated single-turn questions, changed both ways where they can be, each asked with the
    rewrite on and off; one record per changed question."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x0B1E]),
                               TaskConfig(qa_per_type=per_type), seen_objects=set(room.last_visible))
    records = []

    def ask(text: str, session: str, switch: str, on: bool) -> Any:
        setattr(answerer.config, switch, on)
        reply = answerer.ask(text, session_id=session)
        setattr(answerer.config, switch, True)
        if not reply.success and on:  # with the rewrite off "waste basket" is refused: a miss
            raise RuntimeError(f"room {room.seed}: {text!r} rejected: {reply.error}")
        return reply

    for i, sample in enumerate(s for s in samples if s.task == "qa" and not s.history and s.situation is None):
        changed = []
        if (other := in_other_words(sample.question, rng)) is not None:
            changed.append(("other_words", "object_words", other[0], other[1]))
        if (slipped := with_a_slip(sample.question, rng, known)) is not None:
            changed.append(("slip", "correct_spelling", slipped[0], f"{slipped[1]} → {slipped[2]}"))
        if (compound := with_a_class_modifier(sample.question, rng)) is not None:  # drawn last: the others' draws stay
            changed.append(("compound", "object_words", compound[0], compound[1]))
        if not changed:
            continue
        generated = ask(sample.question, f"{room.seed}-words-{i}", "object_words", True)
        for form, switch, question, what in changed:
            on = ask(question, f"{room.seed}-words-{i}-{form}", switch, True)
            off = ask(question, f"{room.seed}-words-{i}-{form}-off", switch, False)
            records.append({"form": form, "question": question, "generated": sample.question, "what": what,
                            "rewritten": bool(on.read_as), "ms": on.latency_ms,
                            "em": exact_match(on.answer, sample.answers), "em_off": exact_match(off.answer,
                                                                                                 sample.answers),
                            "em_generated": exact_match(generated.answer, sample.answers)})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    ems = ("em", "em_off", "em_generated")

    def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"n": len(rows), **{em: share(rows, em) for em in ems}}

    out: dict[str, Any] = {}
    for form in ("other_words", "compound", "slip"):
        rows = [r for r in records if r["form"] == form]
        out[form] = {**figures(rows), "rewritten": share(rows, "rewritten")}
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["form"] == "other_words":
            by_class[r["what"]].append(r)
    out["other_words"]["by_class"] = {cls: figures(rows) for cls, rows in sorted(by_class.items())}
    return {**out, "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    known: list[frozenset[str]] = []  # the model's words and English: a slip spelling one is no slip

    def ask(room: Any, answerer: Any) -> list[dict[str, Any]]:
        if not known:
            from leovl_ros.agent.spelling import words_not_slips

            known.append(answerer.vocabulary | words_not_slips())
        return ask_room(room, answerer, args.per_type, np.random.default_rng([room.seed, 0x0B1F]), known[0])

    model_dir, records = ask_held_out_rooms(args, ask)
    print(json.dumps({"benchmark": "object_words", "model": str(model_dir), "rooms": args.rooms,
                      "split": args.split, "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
