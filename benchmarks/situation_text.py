"""'I am sitting on the bed facing the tv. What is on my left?': a situation given as text alone, placed on the map;
prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does, draws the room's generated situated single-turn questions (``sim.tasks.generate_samples``, the training data's
rng; up to ``--questions`` a room: which side, the first thing in a direction, how many in a direction, routes) and
asks each through the dialogue node's answer path, each in a dialogue of its own, three ways: with the situation
text alone and ``AnswererConfig.situation_from_map`` on (the pose read from the text on the map,
``model.situation_pose``), the same with it off (the model reads the text alone: what users got before), and with
the text and the true pose (what the Ask service's ``situation_pose`` gives: the ceiling). The situation is then
re-worded in the hand-written patterns of each ``--wordings`` file (other people's words; its anchor and faced object
read back from the generated wording) and asked again with the text alone.

Figures: ``em_text`` / ``em_text_without`` / ``em_true_pose`` (exact match with the generated answers, LEO's
normalisation) over all questions and ``by_type``; ``placed`` (share of situations the map placed), the placed ones'
``position_error_m_median`` / ``_p90`` and ``yaw_error_deg_median`` / ``_p90`` against the true pose;
and per wordings file (its stem) ``em_text`` / ``em_text_without`` / ``placed`` / ``n`` over the re-worded ones.

    .venv/bin/python benchmarks/situation_text.py [--rooms 60] [--questions 8] [--split test]
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inline_situation import generated_samples  # the same situated questions
from last_seen import ask_held_out_rooms, room_arguments, share  # the same rooms, options, figures

WORDINGS = tuple(Path(__file__).resolve().parent / "data" / f"handworded_situations{suffix}.json"
                 for suffix in ("", "_b", "_c"))
"""Hand-written situation patterns (``benchmarks/data/README.md``): two sets looked at while the parser was written,
and one written after it (unseen)."""


def parse_args(argv: Optional[list[str]] = None):
    p = room_arguments(__doc__)
    p.add_argument("--questions", type=int, default=8, help="at most this many situated questions per room")
    p.add_argument("--wordings", type=Path, nargs="*", default=list(WORDINGS),
                   help="files of hand-written situation patterns (none: skip them)")
    return p.parse_args(argv)


@functools.lru_cache(maxsize=1)
def generated_wordings() -> list[tuple[re.Pattern, bool]]:
    """Each generator situation template as a pattern capturing ``ref`` and ``ref2``, and whether it sits."""
    from leovl_ros.sim.phrasing import _TABLE

    out = []
    for key, sitting in (("situation_standing", False), ("situation_sitting", True)):
        for family in _TABLE[key]:
            text = family.split("|", 2)[2]
            body = re.escape(text).replace(re.escape("{ref}"), "(?P<ref>.+?)").replace(re.escape("{ref2}"),
                                                                                        "(?P<ref2>.+?)")
            out.append((re.compile(f"^{body}$", re.I), sitting))
    return out


def reworded(situation: str, patterns: dict[str, list[str]], index: int) -> Optional[str]:
    """The situation in the ``index``-th hand-written pattern of its kind; None where its wording is not a plain
    generator template (a decorated one)."""
    for template, sitting in generated_wordings():
        found = template.match(situation.strip())
        if found is not None:
            kind = patterns["sitting" if sitting else "standing"]
            return kind[index % len(kind)].format(ref=found["ref"], ref2=found["ref2"])
    return None


def true_pose(sample: Any) -> tuple[float, float, float]:
    """The sample's (x, y, yaw) in the world frame."""
    from leovl_ros.geometry.transforms import quat_xyzw_to_yaw

    return float(sample.position[0]), float(sample.position[1]), float(quat_xyzw_to_yaw(sample.rotation_xyzw))


def ask_room(room: Any, answerer: Any, limit: int, wordings: dict[str, dict[str, list[str]]]) -> list[dict[str, Any]]:
    """Each drawn situated question asked with the text alone (placed / not), with the true pose, and in each set of
    hand-written ``wordings`` (name → patterns)."""
    from leovl_ros.agent.answering import situation_pose_matrix
    from leovl_ros.eval.metrics import exact_match

    samples = generated_samples(room)

    def text_alone(question: str, situation: str, session: str) -> tuple[Any, Any]:
        placed = answerer.ask(question, session_id=f"{session}-placed", situation_text=situation)
        answerer.config = replace(answerer.config, situation_from_map=False)
        unplaced = answerer.ask(question, session_id=f"{session}-unplaced", situation_text=situation)
        answerer.config = replace(answerer.config, situation_from_map=True)
        return placed, unplaced

    records = []
    for i, sample in enumerate(samples[:limit]):
        session = f"{room.seed}-{i}"
        text, without = text_alone(sample.question, sample.situation, session)
        pose = situation_pose_matrix(tuple(sample.position), tuple(sample.rotation_xyzw))
        truth = answerer.ask(sample.question, session_id=f"{session}-pose", situation_text=sample.situation,
                             situation_pose=pose)
        placed = text.situation_placed
        record = {"type": sample.question_type, "situation": sample.situation, "question": sample.question,
                  "answers": list(sample.answers), "text": text.answer, "without": without.answer,
                  "true_pose": truth.answer, "em_text": exact_match(text.answer, sample.answers),
                  "em_text_without": exact_match(without.answer, sample.answers),
                  "em_true_pose": exact_match(truth.answer, sample.answers), "placed": placed is not None,
                  "hand_worded": {}}
        if placed is not None:
            x, y, yaw = true_pose(sample)
            record["position_error_m"] = math.hypot(placed[0] - x, placed[1] - y)
            record["yaw_error_deg"] = abs(math.degrees(math.remainder(placed[2] - yaw, 2 * math.pi)))
        for name, patterns in wordings.items():
            other = reworded(sample.situation, patterns, i)
            if other is not None:
                hand, hand_without = text_alone(sample.question, other, f"{session}-{name}")
                record["hand_worded"][name] = {
                    "situation": other, "em_text": exact_match(hand.answer, sample.answers),
                    "em_text_without": exact_match(hand_without.answer, sample.answers),
                    "placed": hand.situation_placed is not None}
        records.append(record)
    return records


def quantile(values: list[float], q: float) -> Optional[float]:
    """The q-quantile of values (3 decimals); None without values."""
    return round(float(np.quantile(values, q)), 3) if values else None


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the module docstring."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_type[r["type"]].append(r)
    placed = [r for r in records if r["placed"]]
    names = list(dict.fromkeys(name for r in records for name in r["hand_worded"]))
    positions = [r["position_error_m"] for r in placed]
    yaws = [r["yaw_error_deg"] for r in placed]
    return {"n": len(records), **{k: share(records, k) for k in ("em_text", "em_text_without", "em_true_pose",
                                                                 "placed")},
            "em_text_placed": share(placed, "em_text"), "em_text_without_placed": share(placed, "em_text_without"),
            "position_error_m_median": quantile(positions, 0.5), "position_error_m_p90": quantile(positions, 0.9),
            "yaw_error_deg_median": quantile(yaws, 0.5), "yaw_error_deg_p90": quantile(yaws, 0.9),
            "by_type": {t: {"n": len(rs), **{k: share(rs, k) for k in ("em_text", "em_text_without",
                                                                        "em_true_pose")}}
                        for t, rs in sorted(by_type.items())},
            **{name: {"n": len(rows), **{k: share(rows, k) for k in ("em_text", "em_text_without", "placed")}}
               for name in names if (rows := [r["hand_worded"][name] for r in records if name in r["hand_worded"]])}}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, compare; print one JSON line."""
    args = parse_args(argv)
    wordings = {path.stem: json.loads(path.read_text()) for path in args.wordings}
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.questions, wordings))
    print(json.dumps({"benchmark": "situation_text", "model": str(model_dir), "rooms": args.rooms,
                      "split_of_rooms": args.split, "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
