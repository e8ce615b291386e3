"""'Describe the room.' and 'describe the chair': the map's descriptions against the generator's reference captions;
prints ONE JSON line.

On the first ``--rooms`` rooms of ``--split`` it renders and fuses the robot's walk as ``benchmarks/last_seen.py``
does and asks, each in a dialogue of its own, through the dialogue node's answer path (``agent.answering.Answerer``):
- for the room: its generated scene-caption request (the training data's wording) and one of the hand-written
  ``SCENE_PATTERNS``; answered by ``model.room_questions.measured_scene_caption`` ("This is a medium-sized bedroom
  of about 4 by 5 meters with a bed, …");
- for up to ``--objects`` objects: the generated object-caption requests ("Describe the black cardboard box"), and
  for an object whose class the room holds once one of the hand-written ``OBJECT_PATTERNS`` too; answered by
  ``model.room_questions.measured_object_caption`` ("a gray lamp on the brown nightstand, next to the bed").
The language model's own words are kept beside each answer (``Reply.model_answer``).

References: the generator's captions (``sim.tasks.captions``) of what the walk showed, as the training data and
``training/evaluate.py`` score captions: a room's size and kind, its six largest classes with their numbers, what
one single object stands on and which one stands by a door or window; an object's colour and class, what it stands
on, what stands on it, what stands next to it, a door or window near it, where in the room.

Figures, for ``scene_`` and ``object_`` requests: ``cider`` / ``bleu4`` / ``rouge_l`` (Scan2Cap's caption metrics,
``eval.captioning``), the same for the language model's words (``model_cider`` …), ``hand_cider`` /
``hand_model_cider`` (the hand-written wordings alone), ``measured``, ``n``; for rooms also ``scene_kind_right`` (the
answer names the room's kind, and by kind), ``scene_size_right`` (both rounded sides as the reference says them),
``scene_size_within_one``; for objects ``object_colour_right`` (the answer's first word after the article is the
object's colour); ``answer_ms_median``.

    .venv/bin/python benchmarks/captions.py [--rooms 60] [--split test] [--objects 3] [--model models/default]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from last_seen import ask_held_out_rooms, median_ms, room_arguments, share  # the same rooms, options, figures

SCENE_PATTERNS: tuple[str, ...] = (
    "describe the room",
    "Can you describe this place?",
    "what does it look like around here?",
    "give me an overview of the room",
    "Describe your surroundings.",
    "hey robot, describe the space you mapped",
)
"""Hand-written wordings of the room request (none is in the training data)."""

OBJECT_PATTERNS: tuple[str, ...] = (
    "describe the {cls}",
    "Can you describe the {cls} for me?",
    "what does the {cls} look like?",
    "tell me about the {cls}",
)
"""Hand-written wordings of the object request, about an object whose class the room holds once."""

SIZE = re.compile(r"about (?P<w>\d+) by (?P<d>\d+) meters")
"""The room's sides as the captions say them."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = room_arguments(__doc__)
    p.add_argument("--objects", type=int, default=3, help="objects described per room (the generator's draw)")
    return p.parse_args(argv)


def caption_samples(room: Any) -> list[Any]:
    """The room's generated caption requests with their references (about the objects the walk showed)."""
    from leovl_ros.sim.tasks import TaskConfig, generate_samples

    samples = generate_samples(room.scene, np.random.default_rng([room.seed, 0x5CE7]), TaskConfig(),
                               seen_objects=set(room.last_visible))
    return [s for s in samples if s.task in ("scene_caption", "object_caption")]


def sides(text: str) -> Optional[tuple[int, int]]:
    """The two rounded sides a caption gives, None when it gives none."""
    found = SIZE.search(text.lower())
    return None if found is None else (int(found["w"]), int(found["d"]))


def ask_room(room: Any, answerer: Any, objects: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Every request of the room (module docstring); one record each."""
    samples = caption_samples(room)
    scene = next(s for s in samples if s.task == "scene_caption")
    asks = [("scene", "generated", scene.question, scene, None),
            ("scene", "hand", SCENE_PATTERNS[int(rng.integers(len(SCENE_PATTERNS)))], scene, None)]
    for sample in [s for s in samples if s.task == "object_caption"][:objects]:
        obj = next(o for o in room.scene.objects if o.id == sample.object_ids[0])
        asks.append(("object", "generated", sample.question, sample, obj))
        if sum(o.cls == obj.cls for o in room.scene.objects) == 1:
            pattern = OBJECT_PATTERNS[int(rng.integers(len(OBJECT_PATTERNS)))]
            asks.append(("object", "hand", pattern.format(cls=obj.cls), sample, obj))
    records = []
    for i, (kind, wording, question, sample, obj) in enumerate(asks):
        reply = answerer.ask(question, session_id=f"{room.seed}-caption-{i}")
        if not reply.success:
            raise RuntimeError(f"room {room.seed}: {question!r} rejected: {reply.error}")
        record = {"id": f"{room.seed}-{i}", "request": kind, "wording": wording, "question": question,
                  "refs": list(sample.answers), "answer": reply.answer,
                  "model_answer": reply.model_answer or reply.answer, "measured": bool(reply.model_answer),
                  "ms": reply.latency_ms}
        if kind == "scene":
            said, truth = sides(reply.answer), sides(sample.answers[0])
            record.update(kind=room.scene.room.kind,
                          kind_right=f" {room.scene.room.kind} " in f" {reply.answer.lower()} ",
                          size_right=said is not None and said == truth,
                          size_within_one=said is not None and truth is not None
                          and all(abs(a - b) <= 1 for a, b in zip(said, truth)))
        else:
            words = reply.answer.lower().split()
            record["colour_right"] = len(words) > 1 and words[1] == obj.colour
        records.append(record)
    return records


def caption_figures(rows: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """CIDEr / BLEU-4 / ROUGE-L of the answers and of the model's words, the hand-written wordings' CIDEr, the
    measured share and the count, keys prefixed."""
    from leovl_ros.eval.captioning import caption_scores

    def scores(key: str, subset: list[dict[str, Any]]) -> dict[str, float]:
        if not subset:
            return {}
        got = caption_scores({r["id"]: r[key] for r in subset}, {r["id"]: r["refs"] for r in subset}, meteor=False)
        return {name: round(got[name], 2) for name in ("cider", "bleu4", "rouge_l")}

    hand = [r for r in rows if r["wording"] == "hand"]
    return {f"{prefix}n": len(rows), **{f"{prefix}{k}": v for k, v in scores("answer", rows).items()},
            **{f"{prefix}model_{k}": v for k, v in scores("model_answer", rows).items()},
            f"{prefix}hand_cider": scores("answer", hand).get("cider"),
            f"{prefix}hand_model_cider": scores("model_answer", hand).get("cider"),
            f"{prefix}measured": share(rows, "measured")}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON figures from the per-request records."""
    scenes = [r for r in records if r["request"] == "scene"]
    objects = [r for r in records if r["request"] == "object"]
    kinds = sorted({r["kind"] for r in scenes})
    return {**caption_figures(scenes, "scene_"), "scene_kind_right": share(scenes, "kind_right"),
            "scene_kind_right_by_kind": {k: share([r for r in scenes if r["kind"] == k], "kind_right") for k in kinds},
            "scene_size_right": share(scenes, "size_right"), "scene_size_within_one": share(scenes, "size_within_one"),
            **caption_figures(objects, "object_"), "object_colour_right": share(objects, "colour_right"),
            "answer_ms_median": median_ms(records)}


def main(argv: Optional[list[str]] = None) -> None:
    """Fuse, ask, score; print one JSON line."""
    args = parse_args(argv)
    model_dir, records = ask_held_out_rooms(
        args, lambda room, answerer: ask_room(room, answerer, args.objects,
                                              np.random.default_rng([room.seed, 0xDE5C])))
    print(json.dumps({"benchmark": "captions", "model": str(model_dir), "rooms": args.rooms, "split": args.split,
                      "frames": args.frames, **summarise(records)}))


if __name__ == "__main__":
    main()
