"""Fit a checkpoint's answer-type classifier (``leovl_ros.model.answer_types``) and store the answer sets with it.

Asked in words it never trained on, the model sometimes answers with a word of another type ("what shade is the
TV?" → "tv"). This step reads each question's frozen MiniLM features (mean over its tokens), fits a linear
classifier of the question type on requests generated for training-split rooms in training wordings, and writes it
into the checkpoint with the closed answer sets (``sim.tasks.answers``) of the types it saw: decoding then keeps to
the sets of the likely types (captions and other requests without a set are one more type, left free). The LLM,
the reader and every other weight stay as they are. Reported: accuracy on the training questions and, on
validation-split rooms (never trained on), in both wordings — top-1 and the share whose true type is among those
decoding keeps to. Prints one JSON line (also ``--out``).

    python training/fit_answer_types.py --model runs/default/dpo/model
    python training/fit_answer_types.py --model models/default --rooms 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder with the MiniLM question encoder; "
                                                             "rewritten")
    p.add_argument("--rooms", type=int, default=200, help="training-split rooms whose questions it is fitted on")
    p.add_argument("--val-rooms", type=int, default=30, help="validation-split rooms it is scored on")
    p.add_argument("--steps", type=int, default=1500, help="full-batch Adam steps")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    return p.parse_args(argv)


def training_questions(rooms: int) -> dict[str, str]:
    """Question text → type, for the requests generated on the first ``rooms`` training-split rooms in training
    wordings (all objects counted as seen); those without a closed answer set (captions) are ``OPEN_TYPE``."""
    import numpy as np

    from leovl_ros.model.answer_types import OPEN_TYPE
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.tasks.answers import answer_sets
    from leovl_ros.sim.world import generate_scene
    from training.prepare import split_seeds

    closed, out = set(answer_sets()), {}
    for seed in split_seeds("train", rooms):
        for s in generate_samples(generate_scene(seed), np.random.default_rng(seed), TaskConfig()):
            out.setdefault(s.question, s.question_type if s.question_type in closed else OPEN_TYPE)
    return out


def scores(model: Any, questions: list[tuple[str, str]]) -> dict[str, float]:
    """Top-1 accuracy and the share of questions whose true type is among ``model.likely_answer_types``."""
    import torch

    types = model.answer_trie.types
    with torch.no_grad():
        probs = torch.softmax(model.answer_types(model.question_encoder.pooled([q for q, _ in questions])), -1)
    top1 = [types[int(p.argmax())] == t for p, (_, t) in zip(probs, questions)]
    kept = [t in model.answer_trie.likely_types(p) for p, (_, t) in zip(probs, questions)]
    return {"top1": round(sum(top1) / len(top1), 4), "true_type_kept": round(sum(kept) / len(kept), 4),
            "n": len(questions)}


def fit(model: Any, questions: dict[str, str], steps: int, lr: float) -> float:
    """Fit ``model.answer_types`` on the questions; returns the final training loss."""
    import torch

    types = model.answer_trie.types
    texts = sorted(questions)
    x = model.question_encoder.pooled(texts)
    y = torch.tensor([types.index(questions[t]) for t in texts])
    net = model.answer_types
    net.standardise(x)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(net(x), y) + 1e-4 * net.linear.weight.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return round(float(loss.detach()), 5)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    import dataclasses

    import torch

    from leovl_ros.model.answer_types import OPEN_TYPE
    from leovl_ros.model.checkpoint import load_checkpoint, rebuilt_with, save_in_place
    from leovl_ros.sim.shards import build_heldout_qa
    from leovl_ros.sim.tasks.answers import answer_sets
    from training.calibrate_absent import report_line
    from training.prepare import split_seeds

    t0 = time.time()
    torch.manual_seed(args.seed)
    model = load_checkpoint(args.model)
    if model.question_encoder is None:
        raise SystemExit(f"{args.model}: no MiniLM question encoder (model.text_encoder: none): nothing to read")
    questions = training_questions(args.rooms)
    sets = {t: a for t, a in {**answer_sets(), OPEN_TYPE: []}.items() if t in set(questions.values())}
    fitted = rebuilt_with(model, dataclasses.replace(model.config, answer_sets=sets), "answer_types")
    loss = fit(fitted, questions, args.steps, args.lr)
    val_seeds = split_seeds("val", args.val_rooms)
    report: dict[str, Any] = {"model": str(args.model), "types": len(sets), "questions": len(questions),
                              "loss": loss, "train": scores(fitted, sorted(questions.items()))}
    for wording in ("seen", "unseen"):
        val = build_heldout_qa(val_seeds, 40 * args.val_rooms, args.val_rooms, wording=wording, split="val")
        report[f"val_{wording}"] = scores(fitted, [(s.question, s.question_type) for s in val])
    save_in_place(fitted, args.model)
    report["seconds"] = round(time.time() - t0, 1)
    return report_line(report, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
