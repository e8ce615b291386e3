"""Record the shipped model's answers to 48 held-out questions (2 test rooms, up to 2 per question type) into
test/fixtures/shipped_answers/, which test_model_leovl.py::test_shipped_model_answers_exactly_as_recorded replays:
any change to the model code that alters an answer of the shipped checkpoint then fails. Run after a retrain:

    .venv/bin/python scripts/record_shipped_answers.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.config import DataConfig  # noqa: E402
from training.data import save_scene, situation_pose  # noqa: E402
from training.prepare import _init_worker, fuse_scene, split_seeds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fuse the rooms with the shipped 2D encoder, answer, and write the fixture."""
    from safetensors.torch import load_file

    from leovl_ros.agent.paths import default_model_dir
    from leovl_ros.model.leovl import load_model
    from leovl_ros.sim.tasks import scene_id_for

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "test" / "fixtures" / "shipped_answers", help="fixture folder")
    args = ap.parse_args(argv)
    model_dir = default_model_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    _init_worker(str(model_dir / "image_encoder"), DataConfig(frames=24))
    torch.set_num_threads(2)
    model = load_model(model_dir)
    records = []
    for seed in split_seeds("test", 2):
        _, batch, samples = fuse_scene(seed)
        sid = scene_id_for(seed)
        save_scene(batch, args.out / f"{sid}.safetensors")
        scene = load_file(str(args.out / f"{sid}.safetensors"))
        scene["features"] = scene["features"].float()
        prefix = model.scene_prefix(scene)
        per_type: dict[str, int] = {}
        for s in samples:
            if s.task not in ("qa", "situated_qa") or per_type.get(s.question_type, 0) >= 2:
                continue
            per_type[s.question_type] = per_type.get(s.question_type, 0) + 1
            g = model.generate(prefix, s.question, s.situation or "", situation_pose(s), s.history, max_new_tokens=24)
            records.append({
                "scene_id": sid, "question": s.question, "situation": s.situation or "",
                "position": list(s.position) if s.position is not None else None,
                "rotation_xyzw": list(s.rotation_xyzw) if s.rotation_xyzw is not None else None,
                "question_type": s.question_type, "answers": s.answers, "prediction": g.text,
                "token_ids": g.token_ids, "token_probs": g.token_probs,
                "attention_argmax": int(g.scene_attention.argmax()) if g.scene_attention.numel() else -1,
                "measured_cells": g.measured_cells})
    sha = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    (args.out / "predictions.json").write_text(json.dumps({"model_sha256": sha, "questions": records}, indent=1))
    right = sum(r["prediction"] in r["answers"] for r in records)
    print(json.dumps({"questions": len(records), "exact": right, "model_sha256": sha}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
