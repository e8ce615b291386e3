"""Calibrate a checkpoint's absent gate (``reader.absent_below`` / ``absent_above``) on validation rooms.

A model with class presence knows how likely the class a question names is in the room at all, but its answer
does not always follow: it names a colour for a sofa the room lacks, or says "there is no chair" beside one. The
gate turns the presence probability of the class the question names (``LeoVLModel._named_class``; else of the
class reader head 0 asks about) into two decisions, both taken at thresholds measured here, not trained: below
``absent_below`` (and the question names a class) the answer must be an absent form ("there is no …", "zero",
"no"); above ``absent_above`` it may not say "there is no …".

The rooms are the validation split (``sim.shards.split_for_seed`` == "val": in neither the training shards nor
the held-out test set), rendered and fused like the held-out rooms (the data folder's render settings, the
checkpoint's own 2D encoder), asked the held-out question mix in training wordings and answered with the gate off.
``absent_below`` is the largest threshold at which at most ``--false-absent`` of the questions that name a class
and are not about an absent one would be forced absent; ``absent_above`` the smallest at which at most
``--lost-absent`` of the questions about absent classes would have absent answers barred. Prints one JSON line
(also to ``--out``); ``--write`` stores the two thresholds in the checkpoint's config.yaml. A model without class
presence has no gate: reported as skipped.

    python training/calibrate_absent.py --data runs/default/data --model runs/default/dpo/model --write
    python training/calibrate_absent.py --preset default --model models/default --write
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="data folder whose render settings the rooms use")
    src.add_argument("--preset", help="or the preset (name or YAML) whose data settings they use")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder (a model with class presence)")
    p.add_argument("--encoder", type=Path, default=None,
                   help="2D encoder folder to fuse the rooms with (default: the checkpoint's own image_encoder/)")
    p.add_argument("--rooms", type=int, default=60, help="validation-split rooms")
    p.add_argument("--questions", type=int, default=2400, help="questions asked over those rooms")
    p.add_argument("--false-absent", type=float, default=0.0125,
                   help="share of class-naming questions about present classes the gate may force absent (the "
                        "target allows 2 %% of present-object questions answered absent: the rest is left for the "
                        "model's own absent answers and for sampling noise)")
    p.add_argument("--lost-absent", type=float, default=0.02,
                   help="share of questions about absent classes whose absent answer the gate may bar")
    p.add_argument("--cache", type=Path, default=None,
                   help="keep the fused validation rooms in this folder (default: a temporary one)")
    p.add_argument("--write", action="store_true", help="store the thresholds in the checkpoint's config.yaml")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    return p.parse_args(argv)


def is_absent_answer(answer: str, question_type: str) -> bool:
    """Whether a reference answer says the asked class is absent ("there is no …", "zero" to counting, "no" to
    existence): the answers the gate may force."""
    from leovl_ros.eval.normalize import clean_answer, says_absent

    return says_absent(answer, question_type) or (question_type == "existence" and clean_answer(answer) == "no")


def thresholds(records: list[dict[str, Any]], false_absent: float, lost_absent: float) -> dict[str, float]:
    """The gate's thresholds from answered records (``presence``, ``names_class``, ``absent``: see module doc)."""
    present = np.array([r["presence"] for r in records if r["names_class"] and not r["absent"]])
    absent = np.array([r["presence"] for r in records if r["absent"]])
    if len(present) == 0 or len(absent) == 0:
        raise ValueError("calibration needs questions about both present and absent classes: ask more rooms")
    below = float(np.sort(present)[int(np.floor(false_absent * len(present)))])  # ≤ that share strictly below
    above = max(below, float(np.quantile(absent, 1.0 - lost_absent)))
    return {"absent_below": round(below, 4), "absent_above": round(min(1.0, above), 4)}


def data_config_text(data: Optional[Path], preset: Optional[str]) -> str:
    """The render settings of the rooms: a data folder's ``DATA_CONFIG``, or a preset's data section."""
    import dataclasses

    from training.config import load_preset
    from training.data import DATA_CONFIG

    if data is not None:
        return (data / DATA_CONFIG).read_text()
    return json.dumps(dataclasses.asdict(load_preset(preset).data), indent=1)


def validation_questions(rooms: int, questions: int) -> list:
    """The held-out question mix (training wordings) on the first ``rooms`` validation-split rooms."""
    from leovl_ros.sim.shards import build_heldout_qa
    from training.prepare import split_seeds

    return build_heldout_qa(split_seeds("val", rooms), questions, rooms, wording="seen", split="val")


def answer(model: Any, questions: list, scenes: dict) -> list[dict[str, Any]]:
    """Answer each question with the gate off; keep what calibration needs."""
    from training.evaluate import answer_all

    gate = (model.config.reader.absent_below, model.config.reader.absent_above)
    model.config.reader.absent_below, model.config.reader.absent_above = 0.0, 1.0
    try:
        generations = answer_all(model, questions, scenes, model.config.prompt.max_new_tokens)
    finally:
        model.config.reader.absent_below, model.config.reader.absent_above = gate
    return [{"absent": is_absent_answer(q.answers[0], q.question_type), "presence": g.asked_presence,
             "names_class": g.names_class} for q, g in zip(questions, generations)]


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    from leovl_ros.model.checkpoint import load_checkpoint, update_config
    from training.data import DATA_CONFIG
    from training.evaluate import default_encoder_dir, scenes_for

    model = load_checkpoint(args.model)
    if model.presence is None:
        return report_line({"skipped": "no class presence (reader.presence): no absent gate", "model": str(args.model)},
                       args.out)
    questions = validation_questions(args.rooms, args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / DATA_CONFIG).write_text(data_config_text(args.data, args.preset))
        scenes = scenes_for(questions, cache, args.encoder or default_encoder_dir(model, args.model))
    records = answer(model, questions, scenes)
    found = thresholds(records, args.false_absent, args.lost_absent)
    absent = [r for r in records if r["absent"]]
    report = {**found, "rooms": args.rooms, "questions": len(records), "absent_questions": len(absent),
              "forced_share_of_absent": round(float(np.mean([r["names_class"] and r["presence"] < found["absent_below"]
                                                            for r in absent])), 4),
              "model": str(args.model)}
    if args.write:
        update_config(args.model, "reader", found)
    return report_line(report, args.out)


def report_line(report: dict[str, Any], out: Optional[Path]) -> int:
    """Print the report as one JSON line (and write it to ``out``)."""
    line = json.dumps(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
