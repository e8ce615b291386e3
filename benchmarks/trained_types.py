"""Trained question types outside the held-out mix, on held-out rooms: the language model's words against the answers
given (measured on the map where ``model.measure`` applies); prints ONE JSON line.

The held-out mix (``sim.shards.HELDOUT_MIX``, what ``training/evaluate.py`` scores) leaves out three types the model
is trained on and users ask: size comparisons ("which is bigger, the bin or the cushion?", "is the lamp bigger than
the stool?", "what is the tallest thing here?"), the first object in a direction ("what is the first thing on my
left?", asked at a pose), situated counts ("how many chairs are behind me?") and routes ("how do I get to the
sofa?" → "turn left and walk 2.5 meters", asked at a pose). On the first ``--rooms`` held-out
(test-split) rooms, each room's questions of these types come from the training data's generator (its rng, only
objects the room's rendered walk shows, as ``training/prepare.py`` draws them; up to ``--per-type`` per type and
room), in training wordings and in held-out wordings (``--wording``). The rooms are read from ``--data``'s scene
cache (fused there when missing, with the checkpoint's 2D encoder and the folder's data settings, as
``training/evaluate.py`` does), every question answered with ``LeoVLModel.generate`` (greedy, the pose given).

Figures per wording and type: ``n``, ``em`` (the answers given, percent), ``em_model`` (the language model's own
words), ``measured`` (share of answers the map measured instead of the model's words); ``seconds`` the wall time.

    .venv/bin/python benchmarks/trained_types.py --data runs/default/data [--model models/default] [--rooms 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TYPES: tuple[str, ...] = ("size", "situated_object", "situated_counting", "planning")
"""The trained question types the held-out mix leaves out."""


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True,
                   help="data folder (prepare.py's) whose scene cache holds the held-out rooms; missing ones are "
                        "fused into it")
    p.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: the shipped models/default)")
    p.add_argument("--rooms", type=int, default=50, help="held-out rooms: the first N test-split seeds")
    p.add_argument("--per-type", type=int, default=4, help="at most this many questions per type and room")
    p.add_argument("--wording", choices=("seen", "unseen", "both"), default="both",
                   help="training wordings, held-out wordings or both")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return p.parse_args(argv)


def walk_objects(seed: int, data: Path) -> set[int]:
    """Instance ids the room's rendered walk shows (the data folder's frames and appearance, as prepare.py sees)."""
    import numpy as np

    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.world import generate_scene
    from training.data import read_data_config
    from training.prepare import render_config

    cfg = read_data_config(data)
    seen: set[int] = set()
    for frame in render_sequence(generate_scene(seed), cfg.frames, seed=seed, width=cfg.width, height=cfg.height,
                                 config=render_config(cfg, seed)):
        seen.update(int(i) for i in np.unique(frame.instance[::4, ::4]) if i >= 0)
    return seen


def room_questions(seed: int, seen: set[int], wording: str, per_type: int) -> list[Any]:
    """A room's questions of ``TYPES`` about objects its walk shows: the training data's generator and rng."""
    import numpy as np

    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    cfg = TaskConfig(qa_per_type=40, situations=4, situated_per_type=10, planning_per_situation=2, object_captions=0,
                     scene_captions=0, dialogues=0, max_yes_no_share=1.0, wording=wording)
    samples = generate_samples(generate_scene(seed), np.random.default_rng([seed, 0x7A5C]), cfg, seen_objects=seen)
    kept: dict[str, list[Any]] = defaultdict(list)
    for s in samples:
        if s.question_type in TYPES and len(kept[s.question_type]) < per_type:
            kept[s.question_type].append(s)
    return [s for qtype in TYPES for s in kept[qtype]]


def scores(samples: list[Any], generations: list[Any]) -> dict[str, dict[str, Any]]:
    """Per type: n, em (answers given), em_model (the model's words), measured (share changed by the map)."""
    from leovl_ros.eval.metrics import exact_match

    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for s, g in zip(samples, generations):
        rows[s.question_type].append((exact_match(g.text, s.answers), exact_match(g.model_text, s.answers),
                                      g.text != g.model_text))
    share = lambda values: round(100.0 * sum(values) / max(len(values), 1), 1)  # noqa: E731
    return {qtype: {"n": len(r), "em": share([a for a, _, _ in r]), "em_model": share([b for _, b, _ in r]),
                    "measured": share([c for _, _, c in r])} for qtype, r in sorted(rows.items())}


def main(argv: Optional[list[str]] = None) -> None:
    """Draw, answer, score; print one JSON line."""
    import torch
    from tqdm import tqdm

    from leovl_ros.agent.answering import check_model_dir
    from leovl_ros.model.leovl import load_model
    from training.evaluate import answer_all, default_encoder_dir, scenes_for
    from training.prepare import split_seeds

    args = parse_args(argv)
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    model_dir = check_model_dir(str(args.model) if args.model else None)
    model = load_model(model_dir).eval()
    seeds = split_seeds("test", args.rooms)
    seen = {seed: walk_objects(seed, args.data) for seed in tqdm(seeds, desc="walks", unit="room", file=sys.stderr)}
    out: dict[str, Any] = {"benchmark": "trained_types", "model": str(model_dir), "rooms": len(seeds)}
    for wording in ("seen", "unseen") if args.wording == "both" else (args.wording,):
        samples = [s for seed in seeds for s in room_questions(seed, seen[seed], wording, args.per_type)]
        generations = answer_all(model, samples, scenes_for(samples, args.data, default_encoder_dir(model, model_dir)),
                                 model.config.prompt.max_new_tokens)
        out[f"{wording}_wording"] = scores(samples, generations)
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
