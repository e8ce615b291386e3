"""Evaluate checkpoints on the held-out scenes: QA EM/EM-R by type (+CIs) in seen and unseen wordings side by
side, how many answers are a word of the asked type, situated EM, caption CIDEr, baselines, and how often the
answer's grounding marker (its most-attended column) lies on an asked object.

    python training/evaluate.py --data data_cache/quick --model runs/quick/dpo/model --sft runs/quick/sft/model \\
        --blind runs/quick/blind/model --out runs/quick/eval
    python training/evaluate.py --data runs/default/data --model models/default --questions my_questions.json \\
        --out runs/mine
    python training/evaluate.py --data data_cache/real --model runs/real/dpo/model --preset real_gpu \\
        --heldout data_cache/real/eval/sqa3d_test.jsonl --out runs/real/eval_sqa3d_test

Writes metrics.json ({"qa", "qa_unseen_wording", "answer_type_valid", "absent_objects", "class_presence", "blind",
"situated", "caption", "sft", "scenedpo", "questions_file", ...}), per-model predictions and plots (EM/EM-R per
question type, accuracy vs scene tokens). ``--questions FILE`` scores a Beacon3D-format question file
(``question_id, scene_id, question, answers``, optional ``question_type``, ``object_ids``) about the data folder's
cached rooms or synthetic rooms named by seed (``scene_id_for(seed)``, e.g. ``synth000001``): rooms missing from the
cache are rendered and fused with the checkpoint's 2D encoder; it is reported with EM/EM-R by type and Beacon3D's
Case/Obj. ``--heldout FILE`` scores one evaluation set (a Sample JSONL such as ``DATA/eval/<source>_<split>.jsonl``
from ``prepare.py scenes --source scannet``: SQA3D, ScanQA, Scan2Cap, Beacon3D) in place of the held-out set, all of
it (``eval.max_questions`` / ``max_captions`` do not cut it): its QA as EM/EM-R plus the answers' CIDEr (ScanQA's
headline metric), its caption requests as CIDEr/BLEU-4/METEOR/ROUGE-L (Scan2Cap).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import EvalConfig, load_preset
from training.data import SAMPLES, grounding_target, load_scenes, read_heldout, situation_pose

WORDINGS = ("seen", "unseen")
"""The held-out set's two wordings: training phrasing families and held-out ones (never trained on)."""
QA_TASKS = ("qa", "situated_qa")
"""Sample tasks scored as question answering (the rest as captions)."""


@torch.inference_mode()
def answer_all(model: Any, samples: list, scenes: dict, max_new_tokens: int) -> list:
    """Greedy Generations (text + the reader's attention over the scene tokens); the scene prefix is computed once
    per scene and reused (KV cache)."""
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
                                    max_new_tokens=max_new_tokens)
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


def answer_sets() -> dict[str, list[str]]:
    """Question type → its closed answer set (the generator's committed export, ``leovl_ros/sim/answer_sets.json``)."""
    from leovl_ros.sim.tasks.answers import ANSWER_SETS_PATH

    return json.loads(ANSWER_SETS_PATH.read_text())


def answer_type_valid(records: list[dict], sets: dict[str, list[str]]) -> dict[str, Any]:
    """Share (%) of answers inside the asked type's closed answer set (normalised exact match to one of its
    members), overall and by type; questions of a type without a set are not counted."""
    from leovl_ros.eval.metrics import exact_match

    by_type: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        if r["question_type"] in sets:
            by_type[r["question_type"]].append(exact_match(r["prediction"], sets[r["question_type"]]))
    rows = [v for vs in by_type.values() for v in vs]
    share = lambda v: 100 * float(np.mean(v)) if v else 0.0  # noqa: E731
    return {"share": share(rows), "n": len(rows), "by_type": {k: share(v) for k, v in sorted(by_type.items())}}


def absent_scores(records: list[dict]) -> dict[str, Any]:
    """Questions about a class not in the room (gold 'there is no <class>' / 'zero'): their EM, and the share (%) of
    questions of the same types about present objects that got such an answer (false absent)."""
    from leovl_ros.eval.metrics import exact_match
    from leovl_ros.eval.normalize import says_absent
    from leovl_ros.sim.tasks.qa import ABSENT_TYPES

    typed = [r for r in records if r["question_type"] in ABSENT_TYPES]
    absent = [r for r in typed if says_absent(r["answers"][0], r["question_type"])]
    present = [r for r in typed if not says_absent(r["answers"][0], r["question_type"])]
    pct = lambda v: 100 * float(np.mean(v)) if v else 0.0  # noqa: E731
    return {"em": pct([exact_match(r["prediction"], r["answers"]) for r in absent]), "n": len(absent),
            "false_absent": pct([says_absent(r["prediction"], r["question_type"]) for r in present]),
            "n_present": len(present)}


@torch.inference_mode()
def presence_records(model: Any, scenes: dict) -> list[dict]:
    """Per room with presence labels (``present_classes``, synthetic rooms): the model's class-presence logits and
    the labels; none for a model without class presence."""
    if getattr(model, "presence", None) is None:
        return []
    return [{"scene_id": sid, "logits": model.class_presence(s).tolist(), "labels": s["present_classes"].tolist()}
            for sid, s in sorted(scenes.items()) if "present_classes" in s]


def presence_scores(records: list[dict], false_absent: float = 0.02) -> dict[str, Any]:
    """Class presence over (room, class) pairs with known labels: accuracy (%) at logit 0, ROC AUC, and the share
    (%) of absent classes found at the threshold that calls ``false_absent`` of the present classes absent."""
    pairs = [(z, y) for r in records for z, y in zip(r["logits"], r["labels"]) if y >= 0]
    logits, labels = np.array([z for z, _ in pairs]), np.array([y for _, y in pairs]) > 0.5
    pos, neg = logits[labels], logits[~labels]
    if not len(pos) or not len(neg):
        return {"n": len(pairs)}
    auc = float(np.mean(pos[:, None] > neg[None]) + 0.5 * np.mean(pos[:, None] == neg[None]))
    threshold = float(np.quantile(pos, false_absent))
    return {"n": len(pairs), "present_share": 100 * float(labels.mean()),
            "accuracy": 100 * float(np.mean((logits > 0) == labels)), "auc": auc,
            f"absent_found_at_{100 * false_absent:g}pct_false_absent": 100 * float(np.mean(neg < threshold))}


@dataclass
class FileQuestion:
    """A question of a ``--questions`` file in the fields the evaluator reads (a Sample's names)."""

    question_id: str
    scene_id: str
    question: str
    answers: list[str]
    question_type: str
    object_ids: list[int]
    task: str = "qa"
    situation: Optional[str] = None
    position: Optional[Any] = None
    rotation_xyzw: Optional[Any] = None
    history: Optional[list] = None


def read_questions(path: Path) -> list[FileQuestion]:
    """A Beacon3D-format question file as FileQuestions (types: the file's ``question_type``, else derived); a
    ValueError naming the file and the entry where it is malformed or empty."""
    from leovl_ros.io.annotations import read_beacon3d_qa

    questions = [FileQuestion(str(q.question_id), q.scene_id, q.question, q.answers, q.question_type, q.object_ids)
                 for q in read_beacon3d_qa(path)]
    if not questions:
        raise ValueError(f"{path}: no questions")
    unanswered = [q.question_id for q in questions if not q.answers]
    if unanswered:
        raise ValueError(f"{path}: questions {unanswered[:5]} have no reference answers")
    return questions


def read_eval_set(path: Path) -> list:
    """The Samples of an evaluation-set JSONL (one ``Sample.to_json`` a line), with a clear error where a line is
    not one."""
    from leovl_ros.sim.tasks import Sample

    samples = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            samples.append(Sample.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{i}: not a Sample line ({type(e).__name__}: {e})") from e
    if not samples:
        raise ValueError(f"{path}: no samples")
    return samples


def scenes_for(questions: list, data: Path, encoder_dir: Optional[Path]) -> dict:
    """Cached scenes of the questions' rooms (see :func:`cached_rooms`)."""
    return cached_rooms({q.scene_id for q in questions}, data, encoder_dir)


def cached_rooms(scene_ids: set[str], data: Path, encoder_dir: Optional[Path]) -> dict:
    """Cached scenes of these rooms; rooms missing from the cache are rendered, fused and condensed as prepare.py
    did for the cached ones (synthetic rooms named by seed, with the checkpoint's 2D encoder and the folder's
    ``DATA_CONFIG``: the same appearance randomisation)."""
    from tqdm import tqdm

    from leovl_ros.sim.tasks import seed_for_scene_id
    from training.data import SCENES, read_data_config, save_scene
    from training.prepare import _init_worker, fuse_scene

    missing = sorted(sid for sid in scene_ids if not (data / SCENES / f"{sid}.safetensors").is_file())
    if missing:
        unknown = [sid for sid in missing if seed_for_scene_id(sid) is None]
        if unknown:
            raise ValueError(f"scene ids {unknown[:5]} are neither cached in {data / SCENES} nor synthetic rooms "
                             "named by seed (scene_id_for(seed))")
        if encoder_dir is None or not encoder_dir.is_dir():
            raise FileNotFoundError(f"rooms {missing[:5]} are not cached and no 2D encoder folder ({encoder_dir}) "
                                    "to fuse them: pass --encoder")
        _init_worker(str(encoder_dir), read_data_config(data))
        for sid in tqdm(missing, desc="fusing rooms", unit="room", disable=len(missing) < 20):
            _, batch, _ = fuse_scene(seed_for_scene_id(sid))
            save_scene(batch, data / SCENES / f"{sid}.safetensors")
    return load_scenes(data, scene_ids)


def qa_records(samples: list, predictions: list[str]) -> list[dict]:
    """Records in the evaluator's format (scene and object ids for Beacon3D's per-object score)."""
    return [{"question_id": s.question_id, "question_type": s.question_type, "task": s.task, "prediction": p,
             "answers": s.answers, "scene_id": s.scene_id, "object_ids": list(s.object_ids)}
            for s, p in zip(samples, predictions)]


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


def _answer_records(model: Any, questions: list, scenes: dict, max_new_tokens: int) -> tuple[list[dict], float]:
    """QA records with grounding hits of one model on a question list, and the seconds per question."""
    t0 = time.time()
    generations = answer_all(model, questions, scenes, max_new_tokens)
    seconds = (time.time() - t0) / max(1, len(questions))
    records = qa_records(questions, [g.text for g in generations])
    for r, hit in zip(records, grounding_hits(questions, generations, scenes)):
        r["grounding"] = hit
    return records, seconds


def default_encoder_dir(model: Any, model_dir: Path) -> Path:
    """The 2D encoder a checkpoint was trained on: its vision tower's folder, else its own image_encoder/."""
    enc = model.config.image_encoder
    return Path(enc.path) if enc.kind == "hf" and enc.path else model_dir / "image_encoder"


def predict(model_dir: Path, data: Path, cfg: EvalConfig, out: Path, name: str,
            questions_file: Optional[Path] = None, encoder_dir: Optional[Path] = None,
            heldout_file: Optional[Path] = None) -> dict[str, Any]:
    """Answers of one checkpoint to the held-out QA set in both wordings (and to ``questions_file``) and to caption
    requests — or, with ``heldout_file``, to every QA and caption sample of that evaluation set — saved to
    out/{name}_predictions.json (loaded from there when present, so generation can run on one machine and scoring
    on another)."""
    from leovl_ros.model.checkpoint import load_checkpoint

    path = out / f"{name}_predictions.json"
    if path.is_file():
        return json.loads(path.read_text())
    model = load_checkpoint(model_dir, device="cuda" if torch.cuda.is_available() else "cpu")
    if heldout_file is not None:
        samples = read_eval_set(heldout_file)
        sets = {"seen": [s for s in samples if s.task in QA_TASKS], "unseen": []}
        caps = [s for s in samples if s.task not in QA_TASKS]
    else:
        sets = {w: read_heldout(data, w) for w in WORDINGS}
        if cfg.max_questions and cfg.max_questions < len(sets["seen"]):  # evenly spaced: keeps the type mix
            pick = [i * len(sets["seen"]) // cfg.max_questions for i in range(cfg.max_questions)]
            sets = {w: [v[i] for i in pick] if v else v for w, v in sets.items()}
        caps = caption_samples(data, cfg.max_captions)
    asked = [s for v in sets.values() for s in v]
    scenes = load_scenes(data, {s.scene_id for s in asked + caps})
    records = {w: _answer_records(model, v, scenes, cfg.max_new_tokens) for w, v in sets.items() if v}
    cap_preds = [g.text for g in answer_all(model, caps, scenes, cfg.max_new_tokens)]
    tokens = [int(v["mask"].shape[0]) for v in scenes.values()]
    result = {
        "qa": records["seen"][0] if "seen" in records else [],
        "qa_unseen": records["unseen"][0] if "unseen" in records else [],
        "captions": [{"id": s.question_id, "prediction": p, "answers": s.answers} for s, p in zip(caps, cap_preds)],
        "seconds_per_question": records["seen"][1] if "seen" in records else 0.0,
        "scene_tokens_median": float(np.median(tokens)) if model.config.use_scene else 0.0,
        "params": model.parameter_count(),
        "heldout_file": str(heldout_file) if heldout_file is not None else None,
        "class_presence": presence_records(model, scenes),
    }
    if questions_file is not None:
        file_questions = read_questions(questions_file)
        enc = encoder_dir or default_encoder_dir(model, model_dir)
        result["questions_file"] = _answer_records(model, file_questions, scenes_for(file_questions, data, enc),
                                                   cfg.max_new_tokens)[0]
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def score(pred: dict[str, Any]) -> dict[str, Any]:
    """EM/EM-R (overall, by type, situated) and caption scores of one model's predictions."""
    from leovl_ros.eval.captioning import caption_scores
    from leovl_ros.eval.metrics import beacon3d_scores
    from leovl_ros.eval.report import evaluate_qa

    situated = [r for r in pred["qa"] if r["task"] == "situated_qa"]
    caption = {}
    if pred["captions"]:
        caption = caption_scores({c["id"]: c["prediction"] for c in pred["captions"]},
                                 {c["id"]: c["answers"] for c in pred["captions"]})
    sets = answer_sets()
    unseen = pred.get("qa_unseen") or []
    out = {"qa": evaluate_qa(pred["qa"]) if pred["qa"] else {}, "situated": evaluate_qa(situated) if situated else {},
           "qa_unseen_wording": evaluate_qa(unseen) if unseen else {},
           "answer_type_valid": {"seen": answer_type_valid(pred["qa"], sets),
                                 **({"unseen": answer_type_valid(unseen, sets)} if unseen else {})},
           "absent_objects": {"seen": absent_scores(pred["qa"]),
                              **({"unseen": absent_scores(unseen)} if unseen else {})},
           "caption": caption, "records": pred["qa"], "grounding": grounding_accuracy(pred["qa"]),
           **{k: pred[k] for k in ("seconds_per_question", "scene_tokens_median", "params")}}
    if pred.get("class_presence"):
        out["class_presence"] = presence_scores(pred["class_presence"])
    if pred.get("heldout_file") and pred["qa"]:  # an official set: the answers' captioning scores too (ScanQA)
        out["qa_text"] = caption_scores({r["question_id"]: r["prediction"] for r in pred["qa"]},
                                        {r["question_id"]: r["answers"] for r in pred["qa"]})
    beacon = [r for r in pred["qa"] if str(r["question_id"]).startswith("beacon3d:")]  # prepare.py's id prefix
    if beacon:
        out["beacon3d"] = beacon3d_scores(beacon)
    if pred.get("questions_file"):
        out["questions_file"] = {**evaluate_qa(pred["questions_file"]),
                                 "answer_type_valid": answer_type_valid(pred["questions_file"], sets),
                                 "beacon3d": beacon3d_scores(pred["questions_file"])}
    return out


def build_metrics(main: dict, sft: Optional[dict], blind: Optional[dict],
                  voxel: Optional[dict] = None) -> dict[str, Any]:
    """metrics.json layout: the shipped model's QA/situated/caption + SFT, SceneDPO, blind and the
    voxel-token ablation."""
    from leovl_ros.eval.report import compare_qa

    metrics: dict[str, Any] = {
        "qa": main["qa"], "qa_unseen_wording": main["qa_unseen_wording"],
        "answer_type_valid": main["answer_type_valid"], "absent_objects": main["absent_objects"],
        "situated": main["situated"], "caption": main["caption"],
        "grounding": main["grounding"], "params": main["params"], "scene_tokens_median": main["scene_tokens_median"],
        "seconds_per_question": main["seconds_per_question"],
        "notes": "EM/EM-R in percent with 95% bootstrap CIs; an empty prediction scores 0 on EM and EM-R. qa: "
                 "held-out rooms in training wordings; qa_unseen_wording: the same questions in phrasing families "
                 "never trained on; answer_type_valid: % of answers inside the asked type's closed answer set; "
                 "absent_objects: EM on questions about a class not in the room, and false_absent: % of questions "
                 "about present objects (same types) answered as absent; class_presence (a model with it): its "
                 "per-class presence logits on the held-out rooms against the classes placed there.",
    }
    for key in ("questions_file", "qa_text", "beacon3d", "class_presence"):
        if key in main:
            metrics[key] = main[key]
    if blind is not None:
        metrics["blind"] = {**blind["qa"], "situated": blind["situated"], "unseen_wording": blind["qa_unseen_wording"],
                            "answer_type_valid": blind["answer_type_valid"]}
    if blind is not None and main["qa"] and blind["qa"]:
        metrics["qa_minus_blind_em"] = main["qa"]["em"] - blind["qa"]["em"]
        if main["qa_unseen_wording"] and blind["qa_unseen_wording"]:
            unseen = main["qa_unseen_wording"]["em"] - blind["qa_unseen_wording"]["em"]
            metrics["qa_unseen_wording_minus_blind_em"] = unseen
    if sft is not None:
        metrics["sft"] = {**sft["qa"], "situated": sft["situated"], "caption": sft["caption"]}
    if sft is not None and main["records"] and sft["records"]:
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
    ap.add_argument("--data", type=Path, help="data folder from prepare.py (needed unless only --bag is scored)")
    ap.add_argument("--model", type=Path, required=True, help="checkpoint to report (e.g. the SceneDPO one)")
    ap.add_argument("--sft", type=Path, help="SFT checkpoint (for the SceneDPO vs SFT paired test)")
    ap.add_argument("--blind", type=Path, help="blind baseline checkpoint")
    ap.add_argument("--voxel", type=Path,
                    help="voxel-token ablation checkpoint (preset default_voxel), needs --voxel-data")
    ap.add_argument("--voxel-data", type=Path, help="its data folder (the same held-out questions, voxel tokens)")
    ap.add_argument("--main-name", default="shipped", help="label of --model in the plots")
    ap.add_argument("--preset", default="quick", help="preset whose eval settings to use")
    ap.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, predictions, plots)")
    ap.add_argument("--questions", type=Path, help="also score this Beacon3D-format question file (rooms cached in "
                    "--data or synthetic rooms by seed); EM/EM-R by type and Beacon3D Case/Obj")
    ap.add_argument("--encoder", type=Path, help="2D encoder folder to fuse --questions rooms missing from the data "
                    "cache (default: the checkpoint's vision tower, else MODEL/image_encoder)")
    ap.add_argument("--heldout", type=Path, help="score this evaluation set (Sample JSONL, e.g. DATA/eval/"
                    "sqa3d_test.jsonl, scanqa_val.jsonl, scan2cap_val.jsonl) in place of DATA/heldout_qa.jsonl: "
                    "all of its QA and caption samples")
    ap.add_argument("--bag", type=Path, help="also fuse this rosbag2 offline with --model and score its "
                    "annotations.json, as leovl-eval does over DDS (training/bag_eval.py)")
    ap.add_argument("--predict-only", action="store_true", help="write the predictions, score later")
    args = ap.parse_args(argv)
    bag = None
    if args.bag is not None:
        from training.bag_eval import evaluate_bag

        figures = evaluate_bag(args.model, args.bag, args.out / "bag", threads=1)
        bag = {k: figures[k] for k in ("frames_fused", "questions", "em", "em_r", "map_checksum")}
        if args.data is None:
            print(json.dumps({"bag": bag}))
            return 0
    if args.data is None:
        ap.error("--data is required (or give only --bag)")
    cfg = load_preset(args.preset).eval
    for flag, file, read in (("--questions", args.questions, read_questions), ("--heldout", args.heldout,
                                                                              read_eval_set)):
        if file is not None:  # a malformed file fails here, before any model is loaded
            try:
                read(file)
            except (OSError, ValueError) as e:
                ap.error(f"{flag}: {e}")
    if (args.voxel is None) != (args.voxel_data is None):
        ap.error("--voxel and --voxel-data go together")
    if args.voxel_data is not None and ([s.question for s in read_heldout(args.data)]
                                        != [s.question for s in read_heldout(args.voxel_data)]):
        ap.error(f"{args.voxel_data} holds other held-out questions than {args.data}: not comparable")
    models = {"main": args.model, "sft": args.sft, "blind": args.blind, "voxel": args.voxel}
    data = {k: args.voxel_data if k == "voxel" else args.data for k in models}
    preds = {k: predict(v, data[k], cfg, args.out, k, args.questions if k in ("main", "blind") else None,
                        args.encoder, args.heldout) for k, v in models.items() if v is not None}
    if args.predict_only:
        return 0
    results = {k: score(v) for k, v in preds.items()}
    metrics = build_metrics(results["main"], results.get("sft"), results.get("blind"), results.get("voxel"))
    if bag is not None:
        metrics["bag"] = bag
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if all(v["qa"] for v in results.values()):
        plots(results, args.out, args.main_name)
    print(json.dumps({"em": metrics["qa"].get("em"), "em_r": metrics["qa"].get("em_r"),
                      "unseen_wording_em": metrics["qa_unseen_wording"].get("em"),
                      "blind_em": metrics.get("blind", {}).get("em"),
                      "questions_file_em": metrics.get("questions_file", {}).get("em"),
                      "caption_cider": metrics["caption"].get("cider")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
