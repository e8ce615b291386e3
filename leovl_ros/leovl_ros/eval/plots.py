"""Evaluation plots as PNG (matplotlib, Agg): accuracy vs scene tokens (the paper's plot) and accuracy per type."""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (imported lazily: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write a figure as PNG (creating the folder) and close it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120, format="png")
    _pyplot().close(fig)
    return out


def plot_accuracy_vs_tokens(
    points: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], metric: str = "EM"
) -> Path:
    """Accuracy vs scene tokens, one labelled marker per model (log-scale x, as LEO-VL's efficiency plot).

    Each point: ``{"model": name, "tokens": scene tokens (e.g. median per scene), "accuracy": percent}`` and
    optionally ``"ci": [lo, hi]`` (drawn as an error bar).
    """
    if not points:
        raise ValueError("plot_accuracy_vs_tokens needs at least one point")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = "o^sDvP*Xh<>"
    for i, point in enumerate(points):
        tokens, acc = float(point["tokens"]), float(point["accuracy"])
        yerr = None
        if point.get("ci") is not None:
            lo, hi = (float(v) for v in point["ci"])
            yerr = [[max(0.0, acc - lo)], [max(0.0, hi - acc)]]
        ax.errorbar([tokens], [acc], yerr=yerr, fmt=markers[i % len(markers)], markersize=9, capsize=3,
                    label=str(point["model"]))
        ax.annotate(str(point["model"]), (tokens, acc), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("scene tokens (log scale)")
    ax.set_ylabel(f"{metric} accuracy (%)")
    ax.set_title(f"{metric} vs scene tokens")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_by_type(report: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Grouped bars of EM and EM-R per question type with CI error bars.

    ``report`` is one :func:`leovl_ros.eval.report.evaluate_qa` result, or ``{model name: result}`` to compare
    models (EM bars per model, EM-R as a hollow outline).
    """
    reports = {"model": report} if "by_type" in report else dict(report)
    if not reports:
        raise ValueError("plot_by_type needs at least one report")
    types = sorted({t for r in reports.values() for t in r["by_type"]})
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(types) + 2), 4.2))
    width = 0.8 / len(reports)
    for m, (name, rep) in enumerate(reports.items()):
        for k, metric in enumerate(("em", "em_r")):
            xs, ys, errs = [], [], [[], []]
            for i, t in enumerate(types):
                entry = rep["by_type"].get(t)
                if entry is None:
                    continue
                lo, hi = entry["ci"][metric]
                xs.append(i - 0.4 + width * (m + 0.5))
                ys.append(entry[metric])
                errs[0].append(max(0.0, entry[metric] - lo))
                errs[1].append(max(0.0, hi - entry[metric]))
            style = {"alpha": 0.85} if k == 0 else {"fill": False, "linewidth": 1.2}
            label = f"{name} {'EM' if k == 0 else 'EM-R'}" if len(reports) > 1 else ("EM" if k == 0 else "EM-R")
            ax.bar(xs, ys, width * (0.9 if k == 0 else 1.0), yerr=errs, capsize=2, ecolor="black" if k == 0 else "grey",
                   label=label, color=f"C{m}", edgecolor=f"C{m}", **style)
    ax.set_xticks(range(len(types)))
    ax.set_xticklabels([f"{t}\n(n={max(r['by_type'].get(t, {}).get('n', 0) for r in reports.values())})"
                        for t in types], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("accuracy by question type (95 % bootstrap CIs)")
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_token_counts(
    scenes: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], highlight: Sequence[str] = (),
    highlight_label: str = "highlighted scenes", reference: tuple[float, float] | None = None,
) -> Path:
    """Occupied columns (CFG tokens) against occupied cubic voxels per scene, with the one-third line.

    Each scene: ``{"scene": name, "voxel_tokens": n, "cfg_tokens_unclipped": m}``. ``highlight`` names scenes
    drawn apart (e.g. the timed ones) under ``highlight_label``; ``reference`` = (voxel tokens, CFG tokens) of a
    reported median (the paper's).
    """
    if not scenes:
        raise ValueError("plot_token_counts needs at least one scene")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    marked = set(highlight)
    for chosen, style in ((False, dict(s=14, alpha=0.5, label="scenes")),
                          (True, dict(s=40, marker="D", label=highlight_label))):
        pts = [(s["voxel_tokens"], s["cfg_tokens_unclipped"]) for s in scenes if (s["scene"] in marked) == chosen]
        if pts:
            ax.scatter(*zip(*pts), **style)
    top = max(max(s["voxel_tokens"] for s in scenes), reference[0] if reference else 0) * 1.05
    ax.plot([0, top], [0, top / 3], "k--", lw=1, label="CFG = voxels / 3")
    med = (statistics.median(s["voxel_tokens"] for s in scenes),
           statistics.median(s["cfg_tokens_unclipped"] for s in scenes))
    ax.plot(*med, "r*", markersize=14, label=f"medians ({med[0]:g}, {med[1]:g}): {med[0] / med[1]:.2f}×")
    if reference:
        ax.plot(*reference, "gP", markersize=11,
                label=f"paper, ScanNet medians ({reference[0]:g}, {reference[1]:g}): "
                      f"{reference[0] / reference[1]:.2f}×")
    ax.set(xlabel="voxel tokens (occupied cubic voxels)", ylabel="CFG tokens (occupied columns)",
           xlim=(0, top), ylim=(0, None), title=f"tokens before and after condensation ({len(scenes)} scenes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)
