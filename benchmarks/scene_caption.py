"""'Describe the room.': the room description against the generator's reference captions; prints ONE JSON line.

On the first ``--rooms`` held-out synthetic rooms it renders and fuses the robot's walk as
``benchmarks/last_seen.py`` does and asks for a description twice, each in a dialogue of its own, through the
dialogue node's answer path (``agent.answering.Answerer``): in the training data's wording (the room's generated
scene-caption request) and in one of the hand-written ``PATTERNS``. The answer is
``model.measure.measured_scene_caption``'s ("This is a medium-sized bedroom of about 4 by 5 meters with a bed, …");
the language model's own words are kept beside it (``Reply.model_answer``).

References: the generator's two scene captions of the room (``sim.tasks.captions``: its size and kind, the six
largest classes the walk showed with their numbers, what one single object stands on, which one stands by a door or
window), as the training data and ``training/evaluate.py`` score captions.

Figures: ``cider`` / ``bleu4`` / ``rouge_l`` (Scan2Cap's caption metrics, ``eval.captioning``, over all answers),
the same for the language model's words (``model_cider`` …), ``kind_right`` (the answer names the room's kind),
``size_right`` (both rounded sides as the reference says them), ``size_within_one`` (each within 1 m),
``measured``, ``n``, ``answer_ms_median``.

    .venv/bin/python benchmarks/scene_caption.py [--rooms 60] [--split test] [--model models/default]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, room_arguments  # the same rooms and options

PATTERNS: tuple[str, ...] = (
    "describe the room",
    "Can you describe this place?",
    "what does it look like around here?",
    "give me an overview of the room",
    "Describe your surroundings.",
    "hey robot, describe the space you mapped",
)
"""Hand-written wordings of the request (none is in the training data)."""

SIZE = re.compile(r"about (?P<w>\d+) by (?P<d>\d+) meters")
"""The room's sides as the captions say them."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return room_arguments(__doc__).parse_args(argv)


def references(room: Any) -> tuple[str, list[str]]:
    """The room's generated scene-caption request and its reference captions (about the objects the walk showed)."""
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x5CE7]), TaskConfig(),
                               seen_objects=set(room.last_visible))
    caption = next(s for s in samples if s.task == "scene_caption")
    return caption.question, list(caption.answers)


def sides(text: str) -> Optional[tuple[int, int]]:
    """The two rounded sides a caption gives, None when it gives none."""
    found = SIZE.search(text.lower())
    return None if found is None else (int(found["w"]), int(found["d"]))


def ask_room(room: Any, answerer: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The request in the training wording and in one hand-written wording; one record each."""
    question, refs = references(room)
    truth = sides(refs[0])
    records = []
    for wording, text in (("generated", question), ("hand", PATTERNS[int(rng.integers(len(PATTERNS)))])):
        reply = answerer.ask(text, session_id=f"{room.seed}-caption-{wording}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {text!r} rejected: {reply.error}")
        said = sides(reply.answer)
        records.append({"id": f"{room.seed}-{wording}", "wording": wording, "question": text, "refs": refs,
                        "answer": reply.answer, "model_answer": reply.model_answer or reply.answer,
                        "measured": bool(reply.model_answer), "kind": room.scene.room.kind,
                        "kind_right": f" {room.scene.room.kind} " in f" {reply.answer.lower()} ",
                        "size_right": said is not None and said == truth,
                        "size_within_one": said is not None and truth is not None
                        and all(abs(a - b) <= 1 for a, b in zip(said, truth)),
                        "ms": reply.latency_ms})
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-question records."""
    from leovl_ros.eval.captioning import caption_scores

    def share(key: str, subset: Optional[list[dict[str, Any]]] = None) -> Optional[float]:
        rows = records if subset is None else subset
        return round(sum(r[key] for r in rows) / len(rows), 4) if rows else None

    def scores(key: str, rows: list[dict[str, Any]]) -> dict[str, float]:
        if not rows:
            return {}
        got = caption_scores({r["id"]: r[key] for r in rows}, {r["id"]: r["refs"] for r in rows}, meteor=False)
        return {name: round(got[name], 2) for name in ("cider", "bleu4", "rouge_l")}

    hand = [r for r in records if r["wording"] == "hand"]
    out: dict[str, Any] = {"n": len(records), **scores("answer", records),
                           **{f"model_{k}": v for k, v in scores("model_answer", records).items()},
                           "hand_cider": scores("answer", hand).get("cider"),
                           "hand_model_cider": scores("model_answer", hand).get("cider"),
                           "kind_right": share("kind_right"), "size_right": share("size_right"),
                           "size_within_one": share("size_within_one"), "measured": share("measured"),
                           "answer_ms_median": round(statistics.median(r["ms"] for r in records), 1) if records
                           else None}
    kinds = sorted({r["kind"] for r in records})
    out["kind_right_by_kind"] = {k: share("kind_right", [r for r in records if r["kind"] == k]) for k in kinds}
    return out


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, score; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, np.random.default_rng([room.seed, 0xDE5C])))
    print(json.dumps({"benchmark": "scene_caption", "model": str(model_dir), "rooms": args.rooms,
                      "split": args.split, "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
