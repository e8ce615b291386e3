"""Questions naming an object in words no training question uses ("where is the armchair?"), with and without
``agent.object_words``; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and draws the room's questions with the training data's generator (its rng, up to ``--per-type`` per type,
objects the walk shows; single-turn questions asked from no situation). Each question that names a class with
words in ``object_words.OBJECT_WORDS`` is asked three times through the dialogue node's answer path, each in a
dialogue of its own: as generated, with one class phrasing replaced by one of the class's other words (drawn per
question, its number kept: "how many couches" → "how many loveseats"), and that again with the rewrite turned off
(``AnswererConfig.object_words = False``: what the model made of the word before; a question refused then, as "waste
basket" for its "basket", counts as a miss).

Figures: ``em_generated``, ``em_other_words`` and ``em_other_words_unrewritten`` (exact match against the
generator's answers), ``rewritten`` (share of the other-word questions the rewrite changed), ``n``, ``by_class``
(n and the three EMs per class), ``answer_ms_median``.

    .venv/bin/python benchmarks/object_words.py [--rooms 60] [--per-type 2] [--split test]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures


def parse_args(argv: Optional[list[str]] = None):
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


def ask_room(room: Any, answerer: Any, per_type: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The room's generated single-turn questions in other words, each asked three ways; one record each."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x0B1E]),
                               TaskConfig(qa_per_type=per_type), seen_objects=set(room.last_visible))
    records = []
    for i, sample in enumerate(s for s in samples if s.task == "qa" and not s.history and s.situation is None):
        other = in_other_words(sample.question, rng)
        if other is None:
            continue
        question, cls = other
        answers = {}
        for way, text, rewrite in (("generated", sample.question, True), ("other_words", question, True),
                                   ("other_words_unrewritten", question, False)):
            answerer.config.object_words = rewrite
            reply = answerer.ask(text, session_id=f"{room.seed}-words-{i}-{way}")
            if not reply.success and rewrite:  # without the rewrite "waste basket" is refused: a miss
                raise RuntimeError(f"room {room.seed}: {text!r} rejected: {reply.error}")
            answers[way] = reply
        answerer.config.object_words = True
        records.append({"question": question, "generated": sample.question, "class": cls,
                        "rewritten": bool(answers["other_words"].read_as), "ms": answers["other_words"].latency_ms,
                        **{f"em_{way}": exact_match(reply.answer, sample.answers) for way, reply in answers.items()}})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    ems = ("em_generated", "em_other_words", "em_other_words_unrewritten")
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_class[r["class"]].append(r)
    return {"n": len(records), **{em: share(records, em) for em in ems}, "rewritten": share(records, "rewritten"),
            "by_class": {cls: {"n": len(rs), **{em: share(rs, em) for em in ems}}
                         for cls, rs in sorted(by_class.items())},
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.per_type,
                                              np.random.default_rng([room.seed, 0x0B1F])))
    print(json.dumps({"benchmark": "object_words", "model": str(model_dir), "rooms": args.rooms,
                      "split": args.split, "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
