"""'I'm sitting on the bed. What is on my left?': a situation typed into the question, against the same situation
given apart; prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does, draws the room's generated situated single-turn questions (``sim.tasks.generate_samples``, the training
data's rng; up to ``--questions`` a room) and asks each three ways through the dialogue node's answer path, each in
a dialogue of its own: the situation apart (the Ask service's ``situation`` field, as the evaluations ask), typed
before the question in one line ("<situation>. <question>", ``agent.inline_situation.split_situation``), and that
line with ``AnswererConfig.inline_situation`` off (what the model was asked before: one line, no situation).

Figures: ``em_apart`` / ``em_inline`` / ``em_inline_unsplit`` (exact match with the generated answers, LEO's
normalisation), ``same_as_apart`` / ``unsplit_same_as_apart`` (the inline answer, split or not, equals the apart
one: the same question in the same situation), ``split`` (share of lines split), ``n``. Situated answers from a
text alone are weaker than from a pose (EM ~64 % with the situation placed on the map, ~35 % before), so the
agreement is the figure that shows what the split buys.

    .venv/bin/python benchmarks/inline_situation.py [--rooms 60] [--questions 6] [--split test]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, room_arguments, share  # the same rooms, options, figures


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=6, help="situated questions asked per room")
    return p.parse_args(argv)


def one_line(situation: str, question: str) -> str:
    """The situation typed before the question: "I'm sitting on the bed. What is on my left?"."""
    situation = situation.strip()
    return f"{situation[0].upper()}{situation[1:]}{'' if situation.endswith('.') else '.'} {question.strip()}"


def generated_samples(room: Any) -> list[Any]:
    """The room's generated situated single-turn questions (the training data's rng), each with its situation text
    and pose; ``situation_text.py`` asks the same ones."""
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    return [s for s in generate_samples(room.scene, np.random.default_rng([room.seed, 0x517E]), TaskConfig(),
                                        seen_objects=set(room.last_visible))
            if s.situation and not s.history and s.position is not None]


def ask_room(room: Any, answerer: Any, limit: int) -> list[dict[str, Any]]:
    """Each drawn situated question asked apart, inline, and inline unsplit; one record each."""
    from dataclasses import replace

    from leovl_ros.eval.metrics import exact_match

    records = []
    for i, sample in enumerate(generated_samples(room)[:limit]):
        line = one_line(sample.situation, sample.question)
        apart = answerer.ask(sample.question, session_id=f"{room.seed}-{i}-apart", situation_text=sample.situation)
        inline = answerer.ask(line, session_id=f"{room.seed}-{i}-inline")
        answerer.config = replace(answerer.config, inline_situation=False)  # the line as the model was asked it before
        unsplit = answerer.ask(line, session_id=f"{room.seed}-{i}-unsplit")
        answerer.config = replace(answerer.config, inline_situation=True)
        records.append({"line": line, "apart": apart.answer, "inline": inline.answer, "unsplit": unsplit.answer,
                        "em_apart": exact_match(apart.answer, sample.answers),
                        "em_inline": exact_match(inline.answer, sample.answers),
                        "em_inline_unsplit": exact_match(unsplit.answer, sample.answers),
                        "same_as_apart": inline.answer == apart.answer,
                        "unsplit_same_as_apart": unsplit.answer == apart.answer,
                        "split": "[situation: " in inline.read_as})
    return records


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(args, lambda room, answerer: ask_room(room, answerer, args.questions))
    keys = ("em_apart", "em_inline", "em_inline_unsplit", "same_as_apart", "unsplit_same_as_apart", "split")
    print(json.dumps({"benchmark": "inline_situation", "model": str(model_dir), "rooms": args.rooms,
                      "split_of_rooms": args.split, "frames": args.frames, "n": len(records),
                      **{k: share(records, k) for k in keys}}))


if __name__ == "__main__":
    main()
