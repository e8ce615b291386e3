"""Question-answering metrics: EM, EM-R, Beacon3D Case/Obj, bootstrap confidence intervals and a paired test.

Project rule (differs from LEO): an empty normalised prediction scores 0 on EM and on EM-R. LEO's
``answer_match`` lets an empty prediction match every reference under EM-R (the empty string is a substring of
everything); reports must say so. Empty normalised references are likewise skipped by the substring test (they
would otherwise match every prediction).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from leovl_ros.eval.captioning import caption_scores
from leovl_ros.eval.normalize import clean_answer

__all__ = [
    "answer_scores",
    "beacon3d_scores",
    "bootstrap_ci",
    "caption_scores",
    "exact_match",
    "is_yes_no",
    "paired_test",
    "refined_exact_match",
]

_YES_NO = frozenset({"yes", "no"})
_BEACON3D_OBJECT_PREFIX = re.compile(r"^(scene\d+_\d+_\d+)_")


def _prepare(pred: str, refs: Sequence[str] | str, normalize: bool) -> tuple[str, list[str]]:
    """Normalise the prediction and the references once (a single reference string is accepted)."""
    ref_list = [refs] if isinstance(refs, str) else list(refs)
    if normalize:
        return clean_answer(pred), [clean_answer(r) for r in ref_list]
    return pred, ref_list


def _squash(text: str) -> str:
    """The text with all whitespace removed (EM-R's substring test)."""
    return "".join(text.split())


def answer_scores(pred: str, refs: Sequence[str] | str, normalize: bool = True) -> tuple[bool, bool]:
    """(EM, EM-R) of one prediction against its references, normalising both unless told they already are."""
    pred_n, refs_n = _prepare(pred, refs, normalize)
    if not pred_n.strip():
        return False, False
    if any(pred_n == r for r in refs_n):
        return True, True
    pred_s = _squash(pred_n)
    for ref in refs_n:
        ref_s = _squash(ref)
        if ref_s and (pred_s in ref_s or ref_s in pred_s):
            return False, True
    return False, False


def exact_match(pred: str, refs: Sequence[str] | str, normalize: bool = True) -> bool:
    """EM: the normalised prediction equals one normalised reference (an empty prediction never matches)."""
    return answer_scores(pred, refs, normalize)[0]


def refined_exact_match(pred: str, refs: Sequence[str] | str, normalize: bool = True) -> bool:
    """EM-R: EM, or with whitespace removed the prediction is a substring of a reference or the reverse."""
    return answer_scores(pred, refs, normalize)[1]


def is_yes_no(refs: Sequence[str] | str) -> bool:
    """Whether a question is a yes/no question: every normalised reference is "yes" or "no"."""
    ref_list = [refs] if isinstance(refs, str) else list(refs)
    return bool(ref_list) and all(clean_answer(r).strip() in _YES_NO for r in ref_list)


def bootstrap_ci(
    values: Iterable[float] | np.ndarray, n: int = 1000, alpha: float = 0.05, seed: int = 0,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float, float]:
    """Percentile bootstrap: (estimate, lo, hi) for a (1 - alpha) interval, seeded and reproducible.

    ``values`` are resampled by row (a 2-D array keeps paired columns together). ``statistic`` maps a stack of
    resamples, shape (B, rows, ...), to B estimates; the default is the mean, e.g. of per-question scores.
    """
    x = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.float64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if n < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"bootstrap_ci: need n >= 1 and 0 < alpha < 1 (got n={n}, alpha={alpha})")
    stat = statistic or (lambda s: s.mean(axis=1))
    rng = np.random.default_rng(seed)
    rows = x.shape[0]
    chunk = max(1, min(n, 2_000_000 // x.size))
    estimates = np.empty(n, dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        idx = rng.integers(0, rows, size=(stop - start, rows))
        estimates[start:stop] = stat(x[idx])
    lo, hi = np.quantile(estimates, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(stat(x[None])[0]), float(lo), float(hi)


def _sign_test(wins: int, k: int) -> float:
    """Exact two-sided binomial(k, 1/2) p-value of ``wins`` (log-space sum, so any k works)."""
    low = min(wins, k - wins)
    if 2 * low == k:
        return 1.0
    j = np.arange(low + 1, dtype=np.float64)
    log_pmf = math.lgamma(k + 1) - np.array([math.lgamma(v + 1) + math.lgamma(k - v + 1) for v in j]) - k * math.log(2)
    peak = log_pmf.max()
    return min(1.0, 2.0 * math.exp(peak) * float(np.exp(log_pmf - peak).sum()))


def paired_test(a: Iterable[float], b: Iterable[float], n: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value that paired per-question scores a and b have the same mean (sign-flip permutation test).

    Under the null each paired difference is equally likely to have either sign. When all non-zero differences
    have the same magnitude (0/1 scores such as EM, EM-R) the test is exact (binomial; it equals the exact McNemar
    test); otherwise ``n`` random sign flips give a Monte-Carlo p-value with the +1 correction.
    """
    xa = np.asarray(list(a), dtype=np.float64)
    xb = np.asarray(list(b), dtype=np.float64)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise ValueError(f"paired_test needs two 1-D sequences of equal length (got {xa.shape} and {xb.shape})")
    d = xa - xb
    d = d[np.abs(d) > 1e-12]
    k = d.size
    if k == 0:
        return 1.0
    mags = np.abs(d)
    if np.allclose(mags, mags[0]):
        return _sign_test(int((d > 0).sum()), k)
    observed = abs(d.sum())
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, min(n, 2_000_000 // k))
    for start in range(0, n, chunk):
        signs = rng.choice(np.array([-1.0, 1.0]), size=(min(n, start + chunk) - start, k))
        hits += int((np.abs(signs @ d) >= observed - 1e-9).sum())
    return (hits + 1) / (n + 1)


def _object_key(record: Mapping[str, Any]) -> str | None:
    """The Beacon3D object a question belongs to: scene + object ids, else the question-id prefix; None for a
    question about no object (an existence question answered "no" has empty ``object_ids``)."""
    if record.get("object_ids"):
        ids = ",".join(str(i) for i in sorted(record["object_ids"]))
        return f"{record.get('scene_id', '')}:{ids}"
    match = _BEACON3D_OBJECT_PREFIX.match(str(record["question_id"]))
    return match.group(1) if match is not None else None


def beacon3d_scores(
    records: Iterable[Mapping[str, Any]],
    judge_scores: Mapping[str, float] | None = None,
    key: Callable[[Mapping[str, Any]], str] = _object_key,
) -> dict[str, Any]:
    """Beacon3D Case and Obj scores from records with question_id, prediction, answers (+ scene_id, object_ids).

    Per question: 5 when the answer is an EM match (EM-R for yes/no questions), else the 1–5 judge score from
    ``judge_scores`` (keyed by str(question_id)); without a judge (GPT-4o is not available here) a non-matching
    answer scores 1, so Case equals the EM/EM-R accuracy in percent. Case = (mean − 1) / 4 × 100; Obj = share (in
    percent) of objects whose questions all score ≥ 4; questions about no object (empty ``object_ids`` and no
    Beacon3D id prefix, e.g. "is there a piano?" → "no") count in Case but belong to no object in Obj.
    """
    per_question: list[float] = []
    per_object: dict[str, list[float]] = {}
    without_object = 0
    for rec in records:
        em, em_r = answer_scores(rec["prediction"], rec["answers"])
        matched = em_r if is_yes_no(rec["answers"]) else em
        fallback = 1.0 if judge_scores is None else float(judge_scores.get(str(rec["question_id"]), 1.0))
        score = 5.0 if matched else fallback
        per_question.append(score)
        obj = key(rec)
        if obj is None:
            without_object += 1
        else:
            per_object.setdefault(obj, []).append(score)
    if not per_question:
        raise ValueError("beacon3d_scores needs at least one record")
    return {
        "case": (float(np.mean(per_question)) - 1.0) / 4.0 * 100.0,
        "obj": 100.0 * float(np.mean([min(s) >= 4.0 for s in per_object.values()])) if per_object else 0.0,
        "n_questions": len(per_question),
        "n_objects": len(per_object),
        "n_questions_without_object": without_object,
        "judge": "external judge scores" if judge_scores is not None else "none: non-matching answers score 1",
    }
