"""Evaluate checkpoints on the held-out scenes: QA EM/EM-R by type (+CIs), situated EM, caption CIDEr, baselines,
and how often the answer's grounding marker (its most-attended column) lies on an asked object.

    python training/evaluate.py --data data_cache/quick --model runs/quick/dpo/model --sft runs/quick/sft/model \\
        --blind runs/quick/blind/model --out runs/quick/eval

Writes metrics.json ({"qa", "blind", "situated", "caption", "sft", "scenedpo", ...}), per-model predictions and
plots (EM/EM-R per question type, accuracy vs scene tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import EvalConfig, load_preset
from training.data import SAMPLES, grounding_target, load_scenes, read_heldout, situation_pose


@torch.inference_mode()
def answer_all(model: Any, samples: list, scenes: dict, max_new_tokens: int, grounding: bool = False) -> list:
    """Greedy Generations (text + attention over the scene tokens when ``grounding``); the scene prefix is computed
    once per scene and reused (KV cache)."""
    from tqdm import tqdm

    by_scene: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_scene[s.scene_id].append(i)
    out: list = [None] * len(samples)
    bar = tqdm(total=len(samples), desc="answering", unit="q")
    for sid, idx in by_scene.items():
        prefix = model.scene_prefix(scenes[sid])
        for i in idx:
            s = samples[i]
            out[i] = model.generate(prefix, s.question, s.situation or "", situation_pose(s), s.history,
                                    max_new_tokens=max_new_tokens, grounding=grounding)
            bar.update()
    bar.close()
    return out


def grounding_hits(samples: list, generations: list, scenes: dict) -> list[Optional[dict]]:
    """Per question: whether the most-attended scene column (the answer's grounding marker) lies on one of the
    asked objects, and the share of such columns (a random column's hit rate); None without a target."""
    hits: list[Optional[dict]] = []
    for s, g in zip(samples, generations):
        target = grounding_target(s, scenes[s.scene_id])
        if target is None or g.scene_attention.numel() != target.numel():
            hits.append(None)
            continue
        hits.append({"hit": bool(target[int(g.scene_attention.argmax())]), "chance": float(target.float().mean())})
    return hits


def qa_records(samples: list, predictions: list[str]) -> list[dict]:
    """Records in the evaluator's format."""
    return [{"question_id": s.question_id, "question_type": s.question_type, "task": s.task, "prediction": p,
             "answers": s.answers} for s, p in zip(samples, predictions)]


def grounding_accuracy(records: list[dict]) -> dict[str, Any]:
    """Top-1 grounding accuracy (%) over the questions with a target, overall and by type, next to chance."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r.get("grounding"):
            by_type[r["question_type"]].append(r["grounding"])
    rows = [g for v in by_type.values() for g in v]
    summary = lambda v: {"top1": 100 * float(np.mean([g["hit"] for g in v])),  # noqa: E731
                         "chance": 100 * float(np.mean([g["chance"] for g in v])), "n": len(v)}
    return {**(summary(rows) if rows else {"n": 0}), "by_type": {k: summary(v) for k, v in sorted(by_type.items())}}


def caption_samples(data: Path, limit: int) -> list:
    """Object/scene caption samples of the held-out scenes (first ``limit``)."""
    from leovl_ros.sim.shards import iter_samples

    out = []
    for s in iter_samples(data / SAMPLES, "test"):
        if s.task in ("object_caption", "scene_caption"):
            out.append(s)
            if len(out) >= limit:
                break
    return out


def predict(model_dir: Path, data: Path, cfg: EvalConfig, out: Path, name: str) -> dict[str, Any]:
    """Answers of one checkpoint to the held-out QA set and caption requests, saved to out/{name}_predictions.json
    (loaded from there when present, so generation can run on one machine and scoring on another)."""
    from leovl_ros.model.checkpoint import load_checkpoint

    path = out / f"{name}_predictions.json"
    if path.is_file():
        return json.loads(path.read_text())
    model = load_checkpoint(model_dir, device="cuda" if torch.cuda.is_available() else "cpu")
    heldout = read_heldout(data)
    if cfg.max_questions and cfg.max_questions < len(heldout):  # evenly spaced: keeps the question-type mix
        heldout = [heldout[i * len(heldout) // cfg.max_questions] for i in range(cfg.max_questions)]
    caps = caption_samples(data, cfg.max_captions)
    scenes = load_scenes(data, {s.scene_id for s in heldout + caps})
    t0 = time.time()
    generations = answer_all(model, heldout, scenes, cfg.max_new_tokens, grounding=model.config.use_scene)
    seconds = time.time() - t0
    records = qa_records(heldout, [g.text for g in generations])
    for r, hit in zip(records, grounding_hits(heldout, generations, scenes)):
        r["grounding"] = hit
    cap_preds = [g.text for g in answer_all(model, caps, scenes, cfg.max_new_tokens)]
    tokens = [int(v["mask"].shape[0]) for v in scenes.values()]
    result = {
        "qa": records,
        "captions": [{"id": s.question_id, "prediction": p, "answers": s.answers} for s, p in zip(caps, cap_preds)],
        "seconds_per_question": seconds / max(1, len(records)),
        "scene_tokens_median": float(np.median(tokens)) if model.config.use_scene else 0.0,
        "params": model.parameter_count(),
    }
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def score(pred: dict[str, Any]) -> dict[str, Any]:
    """EM/EM-R (overall, by type, situated) and caption scores of one model's predictions."""
    from leovl_ros.eval.captioning import caption_scores
    from leovl_ros.eval.report import evaluate_qa

    situated = [r for r in pred["qa"] if r["task"] == "situated_qa"]
    caption = {}
    if pred["captions"]:
        caption = caption_scores({c["id"]: c["prediction"] for c in pred["captions"]},
                                 {c["id"]: c["answers"] for c in pred["captions"]})
    return {"qa": evaluate_qa(pred["qa"]), "situated": evaluate_qa(situated) if situated else {},
            "caption": caption, "records": pred["qa"], "grounding": grounding_accuracy(pred["qa"]),
            **{k: pred[k] for k in ("seconds_per_question", "scene_tokens_median", "params")}}


def build_metrics(main: dict, sft: Optional[dict], blind: Optional[dict],
                  voxel: Optional[dict] = None) -> dict[str, Any]:
    """metrics.json layout of issue 5: the shipped model's QA/situated/caption + SFT, SceneDPO, blind and the
    voxel-token ablation."""
    from leovl_ros.eval.report import compare_qa

    metrics: dict[str, Any] = {
        "qa": main["qa"], "situated": main["situated"], "caption": main["caption"],
        "grounding": main["grounding"], "params": main["params"], "scene_tokens_median": main["scene_tokens_median"],
        "seconds_per_question": main["seconds_per_question"],
        "notes": "EM/EM-R in percent with 95% bootstrap CIs; an empty prediction scores 0 on EM and EM-R.",
    }
    if blind is not None:
        metrics["blind"] = {**blind["qa"], "situated": blind["situated"]}
        metrics["qa_minus_blind_em"] = main["qa"]["em"] - blind["qa"]["em"]
    if sft is not None:
        metrics["sft"] = {**sft["qa"], "situated": sft["situated"], "caption": sft["caption"]}
        metrics["scenedpo"] = {**main["qa"], "vs_sft": compare_qa(main["records"], sft["records"], "em_r")}
    if voxel is not None:
        metrics["voxel_tokens"] = {**voxel["qa"], "situated": voxel["situated"],
                                   "scene_tokens_median": voxel["scene_tokens_median"],
                                   "seconds_per_question": voxel["seconds_per_question"]}
    return metrics


def plots(results: dict[str, dict], out: Path, main_name: str = "shipped") -> None:
    """EM/EM-R per type for every model and accuracy vs scene tokens."""
    from leovl_ros.eval.plots import plot_accuracy_vs_tokens, plot_by_type

    names = {"main": main_name, "sft": "SFT", "blind": "blind", "voxel": "voxel tokens"}
    plot_by_type({names[k]: v["qa"] for k, v in results.items()}, out / "qa_by_type.png")
    points = [{"model": names[k], "tokens": max(1.0, v["scene_tokens_median"]), "accuracy": v["qa"]["em"],
               "ci": v["qa"]["ci"]["em"]} for k, v in results.items()]
    plot_accuracy_vs_tokens(points, out / "accuracy_vs_tokens.png")


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="data folder from prepare.py")
    ap.add_argument("--model", type=Path, required=True, help="checkpoint to report (e.g. the SceneDPO one)")
    ap.add_argument("--sft", type=Path, help="SFT checkpoint (for the SceneDPO vs SFT paired test)")
    ap.add_argument("--blind", type=Path, help="blind baseline checkpoint")
    ap.add_argument("--voxel", type=Path, help="voxel-token ablation checkpoint (preset cpu_voxel), needs --voxel-data")
    ap.add_argument("--voxel-data", type=Path, help="its data folder (the same held-out questions, voxel tokens)")
    ap.add_argument("--main-name", default="shipped", help="label of --model in the plots")
    ap.add_argument("--preset", default="quick", help="preset whose eval settings to use")
    ap.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, predictions, plots)")
    ap.add_argument("--predict-only", action="store_true", help="write the predictions, score later")
    args = ap.parse_args(argv)
    cfg = load_preset(args.preset).eval
    if (args.voxel is None) != (args.voxel_data is None):
        ap.error("--voxel and --voxel-data go together")
    if args.voxel_data is not None and ([s.question for s in read_heldout(args.data)]
                                        != [s.question for s in read_heldout(args.voxel_data)]):
        ap.error(f"{args.voxel_data} holds other held-out questions than {args.data}: not comparable")
    models = {"main": args.model, "sft": args.sft, "blind": args.blind, "voxel": args.voxel}
    data = {k: args.voxel_data if k == "voxel" else args.data for k in models}
    preds = {k: predict(v, data[k], cfg, args.out, k) for k, v in models.items() if v is not None}
    if args.predict_only:
        return 0
    results = {k: score(v) for k, v in preds.items()}
    metrics = build_metrics(results["main"], results.get("sft"), results.get("blind"), results.get("voxel"))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    plots(results, args.out, args.main_name)
    print(json.dumps({"em": metrics["qa"]["em"], "em_r": metrics["qa"]["em_r"],
                      "blind_em": metrics.get("blind", {}).get("em")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
