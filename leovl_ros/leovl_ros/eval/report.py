"""QA evaluation report (overall and per question type, EM / EM-R with bootstrap CIs) and its command line.

All accuracies are percentages (0–100), as in the papers' tables; every accuracy carries a percentile-bootstrap
95 % confidence interval. An empty normalised prediction scores 0 on EM and EM-R (LEO counts it as an EM-R match).

CLI (for users who evaluate on real benchmarks)::

    python -m leovl_ros.eval.report --predictions P.json --annotations beacon3d_scannet_qa.json
    python -m leovl_ros.eval.report --predictions P.json --annotations sqa3d_questions.json sqa3d_annotations.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leovl_ros.eval.metrics import answer_scores, beacon3d_scores, bootstrap_ci, paired_test
from leovl_ros.eval.normalize import clean_answer
from leovl_ros.eval.plots import plot_accuracy_vs_tokens, plot_by_type
from leovl_ros.io.annotations import QAItem, read_beacon3d_qa, read_sqa3d

__all__ = [
    "EMPTY_PREDICTION_NOTE",
    "QAScore",
    "compare_qa",
    "evaluate_qa",
    "main",
    "plot_accuracy_vs_tokens",
    "plot_by_type",
    "score_records",
]

EMPTY_PREDICTION_NOTE = (
    "an empty normalised prediction scores 0 on EM and EM-R (LEO's evaluator counts it as an EM-R match)"
)


@dataclass(frozen=True)
class QAScore:
    """EM / EM-R of one answered question."""

    question_id: str
    """Question id as a string (so Beacon3D and SQA3D ids compare alike)."""
    question_type: str
    """Type used for the per-type breakdown."""
    em: bool
    """Exact match after normalisation."""
    em_r: bool
    """Refined exact match (EM or whitespace-free substring either way)."""
    empty: bool
    """The normalised prediction was empty (scored 0)."""


def _field(record: Any, name: str, default: Any = None) -> Any:
    """A record's field, whether the record is a mapping or an object with attributes."""
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def score_records(records: Iterable[Any]) -> list[QAScore]:
    """Score records that have ``question_id, question_type, prediction, answers`` (mappings or objects)."""
    scores = []
    for rec in records:
        prediction = _field(rec, "prediction") or ""
        em, em_r = answer_scores(prediction, _field(rec, "answers"))
        scores.append(QAScore(
            question_id=str(_field(rec, "question_id")),
            question_type=str(_field(rec, "question_type") or "other"),
            em=em,
            em_r=em_r,
            empty=not clean_answer(prediction).strip(),
        ))
    return scores


def _accuracies(scores: Sequence[QAScore], n_boot: int, alpha: float, seed: int) -> dict[str, Any]:
    """EM and EM-R in percent with their bootstrap CIs for one group of scores."""
    em, em_lo, em_hi = bootstrap_ci([100.0 * s.em for s in scores], n=n_boot, alpha=alpha, seed=seed)
    emr, emr_lo, emr_hi = bootstrap_ci([100.0 * s.em_r for s in scores], n=n_boot, alpha=alpha, seed=seed)
    return {"em": em, "em_r": emr, "n": len(scores), "ci": {"em": [em_lo, em_hi], "em_r": [emr_lo, emr_hi]}}


def evaluate_qa(records: Iterable[Any], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """Overall and per-type EM / EM-R (percent) with (1 - alpha) bootstrap CIs from answered QA records.

    Returns ``{"n", "em", "em_r", "ci": {"em": [lo, hi], "em_r": [lo, hi]}, "by_type": {type: {"em", "em_r", "n",
    "ci"}}, "empty_predictions", "units": "percent", "ci_level", "note"}``.
    """
    scores = score_records(records)
    if not scores:
        raise ValueError("evaluate_qa needs at least one record")
    report = _accuracies(scores, n_boot, alpha, seed)
    groups: dict[str, list[QAScore]] = {}
    for s in scores:
        groups.setdefault(s.question_type, []).append(s)
    report["by_type"] = {t: _accuracies(groups[t], n_boot, alpha, seed) for t in sorted(groups)}
    report["empty_predictions"] = sum(s.empty for s in scores)
    report["units"] = "percent"
    report["ci_level"] = 1.0 - alpha
    report["note"] = EMPTY_PREDICTION_NOTE
    return report


def compare_qa(records_a: Iterable[Any], records_b: Iterable[Any], metric: str = "em_r") -> dict[str, Any]:
    """Paired comparison of two models on the same questions (e.g. SceneDPO vs SFT): means, delta and p-value."""
    if metric not in ("em", "em_r"):
        raise ValueError(f"metric must be 'em' or 'em_r' (got {metric!r})")
    a = {s.question_id: float(getattr(s, metric)) for s in score_records(records_a)}
    b = {s.question_id: float(getattr(s, metric)) for s in score_records(records_b)}
    common = sorted(a.keys() & b.keys())
    if not common:
        raise ValueError("compare_qa: the two record sets share no question_id")
    xa, xb = [a[q] for q in common], [b[q] for q in common]
    mean_a, mean_b = 100.0 * sum(xa) / len(common), 100.0 * sum(xb) / len(common)
    return {
        "metric": metric,
        "n": len(common),
        "a": mean_a,
        "b": mean_b,
        "delta": mean_a - mean_b,
        "p_value": paired_test(xa, xb),
        "test": "exact sign-flip (McNemar) test on per-question scores, two-sided",
    }


def _load_predictions(path: Path) -> dict[str, str]:
    """Predictions as {str(question_id): answer} from a dict or a list of {question_id, prediction|answer|text}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if not isinstance(data, list):
        raise ValueError(f"{path}: predictions must be a JSON object or list")
    out = {}
    for i, entry in enumerate(data):
        text = next((entry[k] for k in ("prediction", "answer", "text", "response") if k in entry), None)
        if "question_id" not in entry or text is None:
            raise ValueError(f"{path}[{i}]: needs question_id and one of prediction/answer/text/response")
        out[str(entry["question_id"])] = str(text)
    return out


def _load_annotations(paths: Sequence[Path]) -> tuple[list[QAItem], str]:
    """QA items and the format name from one Beacon3D QA file or an SQA3D questions + annotations pair."""
    if len(paths) == 1:
        return read_beacon3d_qa(paths[0]), "beacon3d"
    if len(paths) == 2:
        first = json.loads(paths[0].read_text(encoding="utf-8"))
        questions, annotations = (paths[0], paths[1]) if "questions" in first else (paths[1], paths[0])
        return read_sqa3d(questions, annotations), "sqa3d"
    raise ValueError("--annotations takes one Beacon3D QA file or two SQA3D files (questions, annotations)")


def _build_parser() -> argparse.ArgumentParser:
    """Command-line options of the evaluator."""
    parser = argparse.ArgumentParser(
        prog="python -m leovl_ros.eval.report",
        description="Score QA predictions against Beacon3D or SQA3D annotations (LEO's answer normalisation, "
        "EM / EM-R per question type with bootstrap CIs; Beacon3D Case/Obj without a judge). Prints JSON.",
    )
    parser.add_argument("--predictions", type=Path, required=True,
                        help="JSON: {question_id: answer} or [{question_id, prediction}, ...]")
    parser.add_argument("--annotations", type=Path, nargs="+", required=True,
                        help="a Beacon3D QA file, or SQA3D questions + annotations files (either order)")
    parser.add_argument("--out", type=Path, help="also write the metrics JSON here")
    parser.add_argument("--plot", type=Path, help="write a per-question-type accuracy plot (PNG) here")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate a predictions file and print the metrics JSON; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        items, fmt = _load_annotations(args.annotations)
        predictions = _load_predictions(args.predictions)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ids = {str(item.question_id) for item in items}
    missing = sum(qid not in predictions for qid in ids)
    unknown = sum(qid not in ids for qid in predictions)
    if missing:
        print(f"warning: {missing} of {len(ids)} questions have no prediction (scored as empty)", file=sys.stderr)
    records = [
        {"question_id": item.question_id, "question_type": item.question_type, "answers": item.answers,
         "prediction": predictions.get(str(item.question_id), ""), "scene_id": item.scene_id,
         "object_ids": item.object_ids}
        for item in items
    ]
    result: dict[str, Any] = {
        "format": fmt,
        "missing_predictions": missing,
        "unknown_predictions": unknown,
        "qa": evaluate_qa(records, n_boot=args.bootstrap, seed=args.seed),
    }
    if fmt == "beacon3d":
        result["beacon3d"] = beacon3d_scores(records)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.plot:
        plot_by_type(result["qa"], args.plot)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
