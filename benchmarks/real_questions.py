"""The model on the committed real question set: fuse each real RGB-D sequence and ask its questions (one JSON line).

    .venv/bin/python benchmarks/real_questions.py [--model models/default] [--threads 1] [--out DIR]

What a user gets: every frame of the scene's sequence (``../shared/data/rgbd/…``, gravity-aligned by
``leovl_ros.io.rgbd``) goes through the fusion node's frame path — ``FrameFuser``'s depth mask, resize to the
encoder input and fusion with the checkpoint's 2D encoder on the runtime ``backend`` selects — with the parameters
``config/agent.yaml`` gives the agent (``eval_params``, as ``leovl-eval`` and ``training/bag_eval.py`` read them);
then each question goes to the dialogue node's ``Answerer`` in its own session (no history). No rclpy, no DDS.

Figures: ``em`` / ``em_r`` in percent with their 95 % percentile-bootstrap intervals (``ci``, 1000 resamples over
questions, ``leovl_ros.eval.report.evaluate_qa``), ``by_type`` and ``by_scene`` likewise, ``answer_type_valid``
(share of answers inside the asked type's closed answer set), per scene ``frames_fused``, ``voxels`` and
``tokens``; ``seconds`` the wall time. ``--out DIR`` also writes ``predictions.json`` (every question's answer).

The question set (``benchmarks/data/real_questions.json``, see its README) and the two sequences are for this
measurement only: nothing may train or tune on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "data" / "real_questions.json"
"""The committed real question set."""


def sequence_readers() -> dict[str, tuple[str, Callable[..., Any]]]:
    """Scene id of the question set → (folder under the shared data, reader of that layout)."""
    from leovl_ros.io.rgbd import read_3dmatch, read_redwood

    return {"livingroom1_clean_micro": ("rgbd/livingroom1_clean_micro", read_redwood),
            "studyroom_3dmatch": ("rgbd/studyroom_3dmatch", read_3dmatch)}


def fuse_sequence(fusion: Any, frames: Any) -> int:
    """Fuse posed frames through the fusion node's frame path (``OfflineFusion``'s fuser and map); returns the
    frames fused (a frame the node would drop, e.g. too much invalid depth, is skipped as the node skips it)."""
    from leovl_ros.agent.validation import InputRejected
    from leovl_ros.geometry import Frame

    fused = 0
    for f in frames:
        try:
            rgb, depth, K = fusion.fuser.resize(f.rgb, fusion.fuser.mask(f.depth), f.K)
        except InputRejected as exc:
            print(f"real_questions: frame {f.frame_id} dropped ({exc.rejection.reason.value})", file=sys.stderr)
            continue
        with fusion.map_handle.locked() as store:
            fusion.fuser.fuse(store, Frame(rgb=rgb, depth=depth, K=K, pose=f.pose, stamp=f.stamp,
                                           frame_id=f.frame_id))
        fused += 1
    return fused


def answer_scene(agent: Any, fusion_config: Any, answerer_config: Any, scene_id: str, questions: list, data: Path
                 ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fuse one scene's sequence with the fusion node's configuration, then answer its questions with the dialogue
    node's ``Answerer`` over that map; (records, figures)."""
    from leovl_ros.agent.answering import Answerer
    from training.bag_eval import OfflineFusion

    folder, reader = sequence_readers()[scene_id]
    fusion = OfflineFusion(fusion_config)
    frames = reader(data / folder)
    fused = fuse_sequence(fusion, frames)
    answerer = Answerer(agent, fusion.map_handle, answerer_config)
    records = []
    for q in questions:
        reply = answerer.ask(q.question, f"real-{q.question_id}")
        records.append({"question_id": str(q.question_id), "scene_id": scene_id, "question": q.question,
                        "question_type": q.question_type, "prediction": reply.answer, "answers": list(q.answers),
                        "success": reply.success, "error": reply.error})
    figures = {"frames": len(frames), "frames_fused": fused, "voxels": len(fusion.map_handle),
               "tokens": fusion.tokens(), "encoder_backend": fusion.backend}
    return records, figures


def evaluate(model: Path, questions_file: Path, data: Path, params: Optional[Path] = None, device: str = "cpu",
             n_boot: int = 1000) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every scene of the question file fused and asked; (figures, per-question records)."""
    from leovl_ros.agent.answering import load_agent
    from leovl_ros.agent.node_config import DialogueConfig, FusionConfig
    from leovl_ros.eval.bag_report import eval_params
    from leovl_ros.eval.report import evaluate_qa
    from leovl_ros.io.annotations import read_beacon3d_qa
    from training.bag_eval import node_config
    from training.evaluate import answer_sets, answer_type_valid

    items = read_beacon3d_qa(questions_file)
    known = sequence_readers()
    unknown = sorted({q.scene_id for q in items} - set(known))
    if unknown:
        raise ValueError(f"{questions_file}: scenes {unknown} have no known sequence (known: {sorted(known)})")
    t0 = time.monotonic()
    p = eval_params(params, str(model))
    fusion = node_config(FusionConfig, p["fusion"]["ros__parameters"])
    dialogue = node_config(DialogueConfig, p["dialogue"]["ros__parameters"])
    agent = load_agent(str(model), device, dialogue.max_sessions)
    records: list[dict[str, Any]] = []
    scenes: dict[str, Any] = {}
    for scene_id in sorted({q.scene_id for q in items}):
        asked = [q for q in items if q.scene_id == scene_id]
        mine, figures = answer_scene(agent, fusion, dialogue.answerer_config(), scene_id, asked, data)
        records += mine
        scenes[scene_id] = {**figures, **_summary(evaluate_qa(mine, n_boot=n_boot))}
    report = evaluate_qa(records, n_boot=n_boot)
    figures = {**_summary(report), "em_r": report["em_r"], "ci_em_r": report["ci"]["em_r"],
               "by_type": {t: _summary(v) for t, v in report["by_type"].items()}, "by_scene": scenes,
               "answer_type_valid": answer_type_valid(records, answer_sets())["share"],
               "rejected": sum(not r["success"] for r in records), "model": str(model),
               "questions_file": str(questions_file), "seconds": round(time.monotonic() - t0, 1),
               "date": time.strftime("%Y-%m-%d")}
    return figures, records


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """EM, its 95 % interval and the question count of an ``evaluate_qa`` report (rounded for the JSON line)."""
    return {"em": round(report["em"], 2), "ci": [round(v, 2) for v in report["ci"]["em"]], "n": report["n"]}


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    from leovl_ros.agent.paths import default_model_dir, shared_data_dir

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=default_model_dir(), help="checkpoint folder (default: %(default)s)")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="question file (default: %(default)s)")
    p.add_argument("--data", type=Path, default=shared_data_dir(),
                   help="shared data folder with rgbd/ (default: $LEOVL_SHARED_DATA or %(default)s)")
    p.add_argument("--params", type=Path, default=None, help="agent parameter file (default: config/agent.yaml)")
    p.add_argument("--device", default="cpu", help="torch device of the language model (default: cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the intervals (default: 1000)")
    p.add_argument("--out", type=Path, default=None, help="also write predictions.json here")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """Run the evaluation and print one JSON line; 2 when the data or the model is missing."""
    args = build_parser().parse_args(argv)
    import torch

    from leovl_ros.agent.answering import ModelNotFoundError, check_model_dir

    torch.set_num_threads(max(1, args.threads))
    try:
        model = check_model_dir(str(args.model))
    except ModelNotFoundError as exc:
        print(f"real_questions: error: {exc}", file=sys.stderr)
        return 2
    if not (args.data / "rgbd").is_dir():
        print(f"real_questions: error: no rgbd/ in {args.data} (set --data or LEOVL_SHARED_DATA)", file=sys.stderr)
        return 2
    figures, records = evaluate(model, args.questions, args.data, args.params, args.device, args.boot)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "predictions.json").write_text(json.dumps(records, indent=1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
